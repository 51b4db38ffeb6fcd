#pragma once

// settle: the future form of an SDK operation, made from its callback form (as the JS SDK's
// settle() joins a promise and a callback). Every public `std::future<T> f(args)` is
//
//   return detail::settle<T>([&](auto done) { f(args, std::move(done)); });
//
// Contract:
// - `start` runs at once, on the calling thread, with the callback that settles the future; it
//   must hand that callback to the callback form (which calls it exactly once).
// - A value settles the future with it; an error settles it with that parley::error as its
//   exception (future.get() throws it, code, message and field unchanged).
// - The callback may run on any thread (the io thread, or inline on the calling thread for an
//   error found before anything was sent); the future is settled there, nothing is posted.
// - A callback destroyed without being called leaves the future broken (std::future_error,
//   broken_promise) rather than waiting forever.

#include <parley/result.hpp>

#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <type_traits>
#include <utility>

namespace parley::detail {

template <class T, class Start>
std::future<T> settle(Start&& start) {
  auto promise = std::make_shared<std::promise<T>>();
  auto future = promise->get_future();
  std::function<void(result<T>)> done = [promise](result<T> outcome) {
    if (!outcome) return promise->set_exception(std::make_exception_ptr(outcome.err()));
    if constexpr (std::is_void_v<T>)
      promise->set_value();
    else
      promise->set_value(std::move(outcome).value());
  };
  std::forward<Start>(start)(std::move(done));
  return future;
}

}  // namespace parley::detail
