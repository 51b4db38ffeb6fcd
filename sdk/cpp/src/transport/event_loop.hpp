#pragma once

// The client's one io thread, and one-shot timers on it. Free of Boost types; the transport's own
// files reach the io_context through loop_core (asio_core.hpp).

#include <chrono>
#include <functional>
#include <memory>

namespace parley::transport {

struct loop_core;

class event_loop {
 public:
  // Starts the io thread.
  event_loop();
  // Calls shutdown() when it was not called.
  ~event_loop();
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  // Runs `fn` on the io thread, after what was posted before it. Thread-safe.
  void post(std::function<void()> fn);

  // Runs `fn` on the io thread and waits for it; runs it inline when called on the io thread.
  void run_sync(const std::function<void()>& fn);

  bool in_loop_thread() const noexcept;

  // Lets the io thread finish the operations still under way (the caller must have cancelled
  // them), waits for it up to `grace`, then stops it and joins. Must not be called on the io
  // thread. Afterwards post() does nothing.
  void shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds{5000});

  loop_core& core() noexcept { return *core_; }

 private:
  std::unique_ptr<loop_core> core_;
};

// A one-shot timer on the io thread. Use it on the io thread only. Destroying or cancelling it
// guarantees the callback will not run.
class timer {
 public:
  explicit timer(event_loop& loop);
  ~timer();
  timer(const timer&) = delete;
  timer& operator=(const timer&) = delete;

  // Runs `fn` after `delay`, replacing a pending one.
  void start(std::chrono::milliseconds delay, std::function<void()> fn);
  void cancel();
  bool pending() const noexcept;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace parley::transport
