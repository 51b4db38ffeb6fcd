#pragma once

// The Asio objects behind event_loop, for the transport's own .cpp files only.

#include "transport/event_loop.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <optional>
#include <thread>

namespace parley::transport {

struct loop_core {
  boost::asio::io_context ioc{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work{
      ioc.get_executor()};
  std::thread thread;
  std::thread::id thread_id;
  std::atomic<bool> shut_down{false};
};

}  // namespace parley::transport
