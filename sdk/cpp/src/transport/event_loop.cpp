#include "transport/event_loop.hpp"

#include "transport/asio_core.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <future>

namespace parley::transport {

namespace asio = boost::asio;

event_loop::event_loop() : core_(std::make_unique<loop_core>()) {
  std::promise<void> started;
  auto started_future = started.get_future();
  core_->thread = std::thread([core = core_.get(), &started] {
    core->thread_id = std::this_thread::get_id();
    started.set_value();
    // A callback of the application may throw; that must not end the io thread, which would
    // leave every other operation of the client hanging. Run again after it.
    for (;;) {
      try {
        core->ioc.run();
        return;
      } catch (...) {
      }
    }
  });
  started_future.wait();
}

event_loop::~event_loop() {
  if (!core_->shut_down) shutdown();
}

void event_loop::post(std::function<void()> fn) {
  if (core_->shut_down) return;
  asio::post(core_->ioc, std::move(fn));
}

void event_loop::run_sync(const std::function<void()>& fn) {
  if (in_loop_thread() || core_->shut_down) {
    fn();
    return;
  }
  std::promise<void> done;
  auto done_future = done.get_future();
  asio::post(core_->ioc, [&fn, &done] {
    try {
      fn();
      done.set_value();
    } catch (...) {
      done.set_exception(std::current_exception());
    }
  });
  done_future.get();
}

bool event_loop::in_loop_thread() const noexcept {
  return std::this_thread::get_id() == core_->thread_id;
}

void event_loop::shutdown(std::chrono::milliseconds grace) {
  if (core_->shut_down) return;
  // Without the work guard run() returns once nothing is left to do: the bounded wait below
  // covers an operation that cannot be cancelled (a name lookup in progress).
  asio::post(core_->ioc, [core = core_.get()] { core->work.reset(); });
  auto deadline = std::chrono::steady_clock::now() + grace;
  std::promise<void> idle;
  auto idle_future = idle.get_future();
  std::thread waiter([core = core_.get(), &idle] {
    core->thread.join();
    idle.set_value();
  });
  if (idle_future.wait_until(deadline) != std::future_status::ready) core_->ioc.stop();
  waiter.join();
  core_->shut_down = true;
}

struct timer::state {
  explicit state(asio::io_context& ioc) : t(ioc) {}
  asio::steady_timer t;
  std::function<void()> fn;
  std::uint64_t generation = 0;
  bool pending = false;
};

timer::timer(event_loop& loop) : state_(std::make_shared<state>(loop.core().ioc)) {}

timer::~timer() {
  cancel();
}

void timer::start(std::chrono::milliseconds delay, std::function<void()> fn) {
  auto& s = *state_;
  s.t.expires_after(delay);
  s.fn = std::move(fn);
  s.pending = true;
  auto generation = ++s.generation;
  s.t.async_wait([weak = std::weak_ptr<state>(state_), generation](boost::system::error_code ec) {
    auto st = weak.lock();
    // Cancelled, replaced by a later start(), or the timer is gone: nothing to run.
    if (ec || !st || st->generation != generation || !st->pending) return;
    st->pending = false;
    auto callback = std::move(st->fn);
    st->fn = nullptr;
    callback();
  });
}

void timer::cancel() {
  state_->pending = false;
  ++state_->generation;
  state_->fn = nullptr;
  state_->t.cancel();
}

bool timer::pending() const noexcept {
  return state_->pending;
}

}  // namespace parley::transport
