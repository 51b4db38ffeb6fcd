#pragma once
// The answer of a deferred route (api::http_api::handle with a responder): given on another
// thread (the store's group commit), made and written on the session's strand.
//
// The hand-over is a concurrent channel with one slot. Concurrent, because the send comes from
// a thread that is not the session's: try_send is safe from any thread and completes the
// waiting coroutine on its own executor (never inline on the sender's thread). One slot, so
// that the send never waits, whether it comes before the coroutine waits or after.
//
// Lifetimes: the waiting coroutine's frame owns the channel; the responder holds it weakly,
// and reaches it only through the server's answer_gate (drain.hpp). So an answer for a session
// that is gone is dropped, and one that comes after the server was destroyed (the drain timed
// out) is dropped too instead of completing on an io_context that no longer exists. A channel
// waiting at the io_context's destruction is abandoned with its frame, like a timer's wait.

#include "api/responses.hpp"
#include "api/router.hpp"
#include "transport/drain.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <memory>

namespace parley::transport {

class deferred_answer {
 public:
  using channel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code,
                                                                     api::answer_maker)>;

  // `ex` is the executor of the coroutine that will wait (the session's strand).
  explicit deferred_answer(const boost::asio::any_io_executor& ex)
      : channel_(std::make_shared<channel>(ex, 1)) {}

  // The responder to give the route: called once, from any thread. Dropped without being
  // called (the work was abandoned), it tells the waiter that no answer will come.
  api::responder responder(std::shared_ptr<answer_gate> gate) const {
    return [s = std::make_shared<sender>(channel_, std::move(gate))](api::answer_maker make) {
      s->send(std::move(make));
    };
  }

  // Waits for the answer and makes it on the calling coroutine's executor; when none will
  // come, answers 503 "the server is stopping".
  boost::asio::awaitable<api::http_response> get() {
    auto [ec, make] =
        co_await channel_->async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec || !make)
      co_return api::error_response(fail(errc::unavailable, "the server is stopping"));
    co_return make();
  }

 private:
  // Shared by the copies of a responder: sends once, or closes the channel when the last copy
  // goes unanswered.
  class sender {
   public:
    sender(const std::shared_ptr<channel>& ch, std::shared_ptr<answer_gate> gate)
        : channel_(ch), gate_(std::move(gate)) {}
    ~sender() {
      if (sent_.load()) return;
      gate_->run([&] {
        if (auto ch = channel_.lock()) ch->close();
      });
    }
    sender(const sender&) = delete;
    sender& operator=(const sender&) = delete;

    void send(api::answer_maker make) {
      sent_.store(true);
      // Under the gate, so that the channel (and its io_context) outlive the send.
      gate_->run([&] {
        if (auto ch = channel_.lock()) ch->try_send(boost::system::error_code{}, std::move(make));
      });
    }

   private:
    std::weak_ptr<channel> channel_;
    std::shared_ptr<answer_gate> gate_;
    std::atomic<bool> sent_{false};
  };

  std::shared_ptr<channel> channel_;
};

}  // namespace parley::transport
