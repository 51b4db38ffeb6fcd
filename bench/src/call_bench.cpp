#include "call_bench.hpp"

#include "ws_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <charconv>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace parley::bench {

namespace json = boost::json;

namespace {

constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto open_timeout = std::chrono::seconds(10);
constexpr auto open_limit = std::chrono::seconds(120);
constexpr auto drain_limit = std::chrono::seconds(30);  // after the offering window, per run
constexpr auto close_timeout = std::chrono::seconds(5);
constexpr auto close_limit = std::chrono::seconds(30);
constexpr std::size_t run_stride = std::size_t{1} << 24;  // call numbers of run r: r * stride + i
constexpr int open_concurrency = 64;

// One call of a run. Written by the caller's and the callee's connections (maybe on two
// threads): the two `ended` are counted atomically, the rest is written once by one side.
struct call_slot {
  steady::time_point due;
  std::atomic<int> ended{0};
  std::atomic<bool> failed{false};
};

// One offered-rate run: its calls and what happened to them.
struct call_run {
  std::size_t base = 0;  // call numbers base .. base + count - 1
  std::size_t count = 0;
  std::size_t max_in_flight = 0;  // a due call is skipped while this many are dialed, unfinished
  std::unique_ptr<call_slot[]> slots;
  steady::time_point start;
  std::atomic<std::size_t> dialed{0};
  std::atomic<std::size_t> completed{0};
  std::atomic<std::size_t> failed{0};
  std::atomic<std::int64_t> last_completion_ns{0};  // since start
  bool windowed = false;                            // soak: rings also go to window_ringing
  std::mutex mutex;                                 // guards the four below
  latency_recorder ringing;
  latency_recorder window_ringing;  // since the last soak sample
  latency_recorder complete;
  std::vector<std::int64_t> completion_ns;  // since start, per completed call
  std::map<std::string, std::size_t> errors;

  std::size_t in_flight() const { return dialed - completed - failed; }
};

// The two runs, made before any connection reads, so a frame of either can be resolved.
struct phase_state {
  call_run runs[2];
  std::mutex mutex;  // errors outside a run (connection lost, unparsable frames)
  std::map<std::string, std::size_t> errors;
  std::atomic<std::size_t> lost{0};

  void error(const std::string& kind) {
    std::lock_guard lock(mutex);
    ++errors[kind];
  }
  // The run of call number k, or null.
  call_run* run_of(std::size_t k) {
    auto r = k / run_stride;
    if (r >= 2) return nullptr;
    auto& run = runs[r];
    return k - run.base < run.count ? &run : nullptr;
  }
};

void fail(phase_state& ph, std::size_t k, const std::string& kind) {
  auto* run = ph.run_of(k);
  if (!run) {
    ph.error(kind);
    return;
  }
  {
    std::lock_guard lock(run->mutex);
    ++run->errors[kind];
  }
  if (!run->slots[k - run->base].failed.exchange(true)) ++run->failed;
}

std::string frame_text(std::initializer_list<std::pair<std::string_view, json::value>> fields) {
  json::object o;
  for (const auto& [k, v] : fields) o[k] = v;
  return json::serialize(o);
}

std::optional<std::size_t> to_number(std::string_view s) {
  std::size_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::string_view str_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
}

// One user's connection during the phase: a read loop that drives the calls it takes part in,
// and a write queue (Beast allows one write in flight). Everything runs on the connection's
// strand.
class call_peer : public std::enable_shared_from_this<call_peer> {
 public:
  call_peer(std::shared_ptr<ws_connection> conn, phase_state& ph)
      : conn_(std::move(conn)), ph_(ph) {}

  std::shared_ptr<ws_connection> connection() const { return conn_; }
  asio::any_io_executor executor() { return conn_->executor(); }

  void start() { asio::co_spawn(executor(), read_loop(shared_from_this()), asio::detached); }

  // On the strand: dials call k to `callee_id`.
  void dial(std::size_t k, const std::string& callee_id) {
    auto ks = std::to_string(k);
    json::object items;
    items["k"] = ks;
    send(frame_text({{"type", "dial"},
                     {"req_id", json::value("d" + ks)},
                     {"callee_id", json::value(callee_id)},
                     {"is_video", false},
                     {"custom_items", std::move(items)}}));
  }

 private:
  struct leg {
    std::size_t k = SIZE_MAX;
    bool caller = false;
    bool accepted = false;  // caller: `accepted` seen; callee: accept acknowledged
    int signals_in = 0;
    int signal_acks = 0;
    bool media_sent = false;
    bool end_sent = false;
  };

  void send(std::string text) {
    out_.push_back(std::move(text));
    if (!writing_) write_next();
  }

  void write_next() {
    writing_ = true;
    conn_->stream().async_write(asio::buffer(out_.front()),
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                  self->out_.pop_front();
                                  if (ec) {
                                    self->writing_ = false;
                                    self->out_.clear();
                                    if (!self->conn_->closing())
                                      self->ph_.error("write failed: " + ec.message());
                                    return;
                                  }
                                  if (self->out_.empty())
                                    self->writing_ = false;
                                  else
                                    self->write_next();
                                });
  }

  void request(const char* type, char tag, const leg& l, const std::string& call_id) {
    send(frame_text({{"type", type},
                     {"req_id", json::value(tag + std::to_string(l.k))},
                     {"call_id", json::value(call_id)}}));
  }

  void send_signals(const leg& l, const std::string& call_id) {
    for (int i = 0; i < 2; ++i) {
      json::object data;
      data["sdp"] = i == 0 ? (l.caller ? "offer" : "answer") : "candidate";
      send(frame_text({{"type", "signal"},
                       {"req_id", json::value("s" + std::to_string(l.k))},
                       {"call_id", json::value(call_id)},
                       {"data", std::move(data)}}));
    }
  }

  // The caller reports media once both sides' signals went through.
  void maybe_media(leg& l, const std::string& call_id) {
    if (l.caller && l.accepted && l.signals_in == 2 && l.signal_acks == 2 && !l.media_sent) {
      l.media_sent = true;
      request("media_connected", 'm', l, call_id);
    }
  }

  // The call number from a call object's custom_items.
  static std::optional<std::size_t> number_of(const json::object& call) {
    const auto* items = call.if_contains("custom_items");
    if (!items || !items->is_object()) return std::nullopt;
    return to_number(str_field(items->get_object(), "k"));
  }

  void on_frame(const json::object& f) {
    auto type = str_field(f, "type");
    if (type == "ack" || type == "error") return on_answer(f, type == "error");
    const json::object* call = nullptr;
    if (const auto* c = f.if_contains("call"); c && c->is_object()) call = &c->get_object();
    std::string call_id(call ? str_field(*call, "call_id") : str_field(f, "call_id"));
    if (call_id.empty()) return ph_.error("event without call_id: " + std::string(type));
    std::size_t n = SIZE_MAX;
    if (call) n = number_of(*call).value_or(SIZE_MAX);
    auto now = steady::now();

    if (type == "ringing") {
      if (!ph_.run_of(n)) return ph_.error("ringing of an unknown call");
      auto* run = ph_.run_of(n);
      auto& l = legs_[call_id];
      l.k = n;
      l.caller = false;
      {
        std::lock_guard lock(run->mutex);
        run->ringing.add(now - run->slots[n - run->base].due);
        if (run->windowed) run->window_ringing.add(now - run->slots[n - run->base].due);
      }
      request("accept", 'a', l, call_id);
      return;
    }
    auto it = legs_.find(call_id);
    if (it == legs_.end()) {
      // The caller may see the call first in `accepted` (before its dial's ack).
      if (!ph_.run_of(n)) return ph_.error(std::string(type) + " of an unknown call");
      it = legs_.emplace(call_id, leg{}).first;
      it->second.k = n;
      it->second.caller = true;
    }
    auto& l = it->second;
    if (type == "accepted") {
      if (!l.caller) return fail(ph_, l.k, "accepted at the callee");
      l.accepted = true;
      send_signals(l, call_id);
      maybe_media(l, call_id);
    } else if (type == "signal") {
      ++l.signals_in;
      maybe_media(l, call_id);
    } else if (type == "connected") {
      if (l.caller && !l.end_sent) {
        l.end_sent = true;
        request("end", 'e', l, call_id);
      }
    } else if (type == "ended") {
      auto result = call ? str_field(*call, "end_result") : std::string_view{};
      auto k = l.k;
      bool complete_flow = l.signals_in == 2 && result == "completed";
      legs_.erase(it);
      if (!complete_flow) return fail(ph_, k, "ended early: " + std::string(result));
      auto* run = ph_.run_of(k);
      if (!run) return;
      auto& slot = run->slots[k - run->base];
      if (slot.ended.fetch_add(1) + 1 == 2 && !slot.failed) {
        auto since = std::chrono::duration_cast<std::chrono::nanoseconds>(now - run->start).count();
        {
          std::lock_guard lock(run->mutex);
          run->complete.add(now - slot.due);
          run->completion_ns.push_back(since);
        }
        auto prev = run->last_completion_ns.load();
        while (prev < since && !run->last_completion_ns.compare_exchange_weak(prev, since)) {
        }
        ++run->completed;
      }
    } else if (type == "remote_media_state" || type == "peer_reconnecting" ||
               type == "peer_reconnected") {
      fail(ph_, l.k, "unexpected event " + std::string(type));
    }
  }

  void on_answer(const json::object& f, bool is_error) {
    auto req = str_field(f, "req_id");
    auto k = req.size() > 1 ? to_number(req.substr(1)) : std::nullopt;
    if (!k)
      return ph_.error(is_error ? "error frame: " + std::string(str_field(f, "code"))
                                : "ack without a known req_id");
    char tag = req[0];
    if (is_error)
      return fail(ph_, *k,
                  std::string("error on ") + tag + ": " + std::string(str_field(f, "code")));
    switch (tag) {
      case 'd': {  // dial: the call object
        const auto* c = f.if_contains("call");
        if (!c || !c->is_object()) return fail(ph_, *k, "dial ack without call");
        std::string call_id(str_field(c->get_object(), "call_id"));
        if (!legs_.contains(call_id)) {
          auto& l = legs_[call_id];
          l.k = *k;
          l.caller = true;
        }
        return;
      }
      case 'a': {  // accept: the callee signals
        for (auto& [call_id, l] : legs_)
          if (l.k == *k && !l.caller) {
            l.accepted = true;
            send_signals(l, call_id);
            return;
          }
        return;  // already ended
      }
      case 's': {
        const auto* d = f.if_contains("delivered");
        if (!d || !d->is_bool() || !d->get_bool()) return fail(ph_, *k, "signal not delivered");
        for (auto& [call_id, l] : legs_)
          if (l.k == *k) {
            ++l.signal_acks;
            maybe_media(l, call_id);
            return;
          }
        return;
      }
      default:
        return;  // media_connected, end
    }
  }

  static asio::awaitable<void> read_loop(std::shared_ptr<call_peer> self) {
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, n] = co_await self->conn_->stream().async_read(buffer, tuple);
      if (ec) {
        if (!self->conn_->closing()) ++self->ph_.lost;
        co_return;
      }
      auto data = buffer.data();
      boost::system::error_code jec;
      auto v =
          json::parse(std::string_view(static_cast<const char*>(data.data()), data.size()), jec);
      buffer.consume(buffer.size());
      if (jec || !v.is_object()) {
        self->ph_.error("unparsable frame");
        continue;
      }
      self->on_frame(v.get_object());
    }
  }

  std::shared_ptr<ws_connection> conn_;
  phase_state& ph_;
  std::deque<std::string> out_;
  bool writing_ = false;
  // Calls this connection takes part in, by call_id. Looked up by call number (k) only for the
  // accept and signal acks, among the few calls a connection has at once.
  std::unordered_map<std::string, leg> legs_;
};

std::string hello_text(const std::string& session_key, const std::string& device_id) {
  return json::serialize(
      json::object{{"type", "hello"}, {"session_key", session_key}, {"device_id", device_id}});
}

asio::awaitable<open_stage> open_one(std::shared_ptr<ws_connection> c, const target& t,
                                     asio::ip::address_v4 source, std::string hello) {
  co_return co_await c->open(t, source, std::move(hello), open_timeout);
}

// Opens connection i for user i, `open_concurrency` in flight; null where it failed.
std::vector<std::shared_ptr<ws_connection>> open_all(worker_pool& pool, const target& t,
                                                     const std::vector<bench_user>& users,
                                                     int count, calls_figures& fig) {
  std::vector<std::shared_ptr<ws_connection>> conns(static_cast<std::size_t>(count));
  std::atomic<int> next{0};
  std::mutex mutex;
  auto deadline = steady::now() + open_limit;
  auto worker = [&]() -> asio::awaitable<void> {
    for (int i; (i = next++) < count && steady::now() < deadline;) {
      auto index = static_cast<std::size_t>(i);
      auto c = std::make_shared<ws_connection>(pool.new_strand());
      auto stage = co_await asio::co_spawn(
          c->executor(),
          open_one(c, t, t.source_for(index),
                   hello_text(users[index].session_key, "call-" + std::to_string(i))),
          asio::use_awaitable);
      if (stage == open_stage::ok) {
        conns[index] = std::move(c);
      } else {
        std::lock_guard lock(mutex);
        ++fig.open_failures[stage_name(stage)];
      }
    }
  };
  std::vector<std::future<void>> futures;
  for (int w = 0; w < open_concurrency; ++w)
    futures.push_back(asio::co_spawn(pool.new_strand(), worker(), asio::use_future));
  for (auto& f : futures) f.get();
  return conns;
}

// The scheduler of one run: call i is due at start + i / rate and is dialed by pair i % pairs.
asio::awaitable<double> schedule(call_run& run,
                                 const std::vector<std::shared_ptr<call_peer>>& callers,
                                 const std::vector<std::string>& callee_ids, double rate) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  double worst_lag_ms = 0;
  auto period = std::chrono::duration<double>(1.0 / rate);
  for (std::size_t i = 0; i < run.count; ++i) {
    auto due =
        run.start + std::chrono::duration_cast<steady::duration>(period * static_cast<double>(i));
    run.slots[i].due = due;
    if (steady::now() < due) {
      timer.expires_at(due);
      co_await timer.async_wait(tuple);
    }
    worst_lag_ms = std::max(worst_lag_ms,
                            std::chrono::duration<double, std::milli>(steady::now() - due).count());
    if (run.in_flight() >= run.max_in_flight) continue;  // counted as skipped
    auto pair = i % callers.size();
    ++run.dialed;
    asio::post(callers[pair]->executor(), [peer = callers[pair], k = run.base + i,
                                           &callee = callee_ids[pair]] { peer->dial(k, callee); });
  }
  co_return worst_lag_ms;
}

// After the scheduler: waits up to drain_limit for the calls in flight, then the figures.
call_run_figures finish_run(call_run& run, const cpu_meter& meter, int rate,
                            std::chrono::seconds seconds, double late_start_ms) {
  call_run_figures fig;
  fig.offered_rate = rate;
  fig.offered_seconds = static_cast<int>(seconds.count());
  fig.scheduled = run.count;
  fig.late_start_ms = late_start_ms;
  auto deadline = steady::now() + drain_limit;
  while (run.in_flight() > 0 && steady::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  fig.cpu = meter.stop();
  fig.dialed = run.dialed;
  fig.completed = run.completed;
  fig.failed = run.failed;
  fig.unfinished = run.in_flight();
  fig.skipped = run.count - fig.dialed;
  fig.last_completion_s = static_cast<double>(run.last_completion_ns.load()) / 1e9;
  std::lock_guard lock(run.mutex);
  auto window_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(seconds).count();
  // The first second (at most half the window) fills the pipeline: not counted in the rate.
  auto warmup_ns = std::min<std::int64_t>(1'000'000'000, window_ns / 2);
  fig.warmup_s = static_cast<double>(warmup_ns) / 1e9;
  for (auto ns : run.completion_ns)
    if (ns > warmup_ns && ns <= window_ns) ++fig.completed_in_window;
  fig.ringing = run.ringing.summarize();
  fig.complete = run.complete.summarize();
  fig.errors = run.errors;
  if (fig.unfinished) fig.errors["unfinished at the drain limit"] = fig.unfinished;
  return fig;
}

call_run_figures run_one(worker_pool& pool, int server_pid, call_run& run,
                         const std::vector<std::shared_ptr<call_peer>>& callers,
                         const std::vector<std::string>& callee_ids, int rate,
                         std::chrono::seconds seconds) {
  cpu_meter meter(server_pid);
  run.start = steady::now() + std::chrono::milliseconds(50);
  auto lag =
      asio::co_spawn(pool.new_strand(), schedule(run, callers, callee_ids, rate), asio::use_future);
  // The scheduler ends within the window (plus its own lag, bounded by the window's end).
  if (lag.wait_until(run.start + seconds + drain_limit) != std::future_status::ready)
    throw std::runtime_error("calls: the scheduler did not finish");
  return finish_run(run, meter, rate, seconds, lag.get());
}

void prepare_run(call_run& run, std::size_t index, int rate, std::chrono::seconds seconds,
                 std::size_t max_in_flight) {
  run.base = index * run_stride;
  run.count = static_cast<std::size_t>(rate) * static_cast<std::size_t>(seconds.count());
  run.max_in_flight = max_in_flight ? max_in_flight : run.count;
  run.slots = std::make_unique<call_slot[]>(run.count);
}

// Close handshakes; what has not finished by the limit is aborted.
void close_all(const std::vector<std::shared_ptr<ws_connection>>& conns) {
  std::vector<std::future<bool>> closes;
  std::vector<std::shared_ptr<ws_connection>> open;
  for (auto& c : conns)
    if (c) {
      open.push_back(c);
      closes.push_back(asio::co_spawn(
          c->executor(),
          [c]() -> asio::awaitable<bool> {
            c->set_closing();
            co_return co_await c->close(close_timeout);
          },
          asio::use_future));
    }
  auto close_deadline = steady::now() + close_limit;
  for (std::size_t i = 0; i < closes.size(); ++i)
    if (closes[i].wait_until(close_deadline) != std::future_status::ready) open[i]->abort();
  for (auto& f : closes)
    if (f.valid()) f.wait_for(std::chrono::seconds(2));
  // Let pending completions that refer to the phase state run before it goes.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
}

}  // namespace

std::size_t call_run_figures::error_count() const {
  std::size_t n = 0;
  for (const auto& [kind, count] : errors) n += count;
  return n;
}

calls_figures run_calls_bench(worker_pool& pool, const target& t, int server_pid,
                              const std::vector<bench_user>& users, int pairs, int rate,
                              std::chrono::seconds seconds, int sat_rate,
                              std::chrono::seconds sat_seconds, int sat_in_flight) {
  calls_figures fig;
  fig.pairs = pairs;
  fig.sat_in_flight = sat_in_flight;
  auto ph = std::make_unique<phase_state>();
  // The latency run never skips a call (that would hide queueing); the saturation run keeps
  // the server's backlog bounded, so that calls finish while it is measured.
  prepare_run(ph->runs[0], 0, rate, seconds, 0);
  prepare_run(ph->runs[1], 1, sat_rate, sat_seconds, static_cast<std::size_t>(sat_in_flight));

  // Users 2i (caller) and 2i+1 (callee) make pair i.
  auto conns = open_all(pool, t, users, 2 * pairs, fig);
  std::vector<std::shared_ptr<call_peer>> peers;
  for (auto& c : conns)
    if (c) peers.push_back(std::make_shared<call_peer>(c, *ph));
  fig.connections = peers.size();
  if (peers.size() != conns.size()) {
    std::fprintf(stderr, "parley-bench: calls: %zu of %zu connections opened; phase skipped\n",
                 peers.size(), conns.size());
  } else {
    for (auto& p : peers) asio::post(p->executor(), [p] { p->start(); });
    std::vector<std::shared_ptr<call_peer>> callers;
    std::vector<std::string> callee_ids;
    for (int i = 0; i < pairs; ++i) {
      callers.push_back(peers[2 * static_cast<std::size_t>(i)]);
      callee_ids.push_back(users[2 * static_cast<std::size_t>(i) + 1].user_id);
    }
    fig.latency = run_one(pool, server_pid, ph->runs[0], callers, callee_ids, rate, seconds);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    fig.saturation =
        run_one(pool, server_pid, ph->runs[1], callers, callee_ids, sat_rate, sat_seconds);
  }
  fig.lost = ph->lost;
  {
    std::lock_guard lock(ph->mutex);
    for (const auto& [kind, n] : ph->errors) fig.saturation.errors["(phase) " + kind] += n;
  }

  close_all(conns);
  peers.clear();
  // The phase state is referenced by peers kept alive by pending handlers; keep it alive.
  ph.release();
  return fig;
}

soak_figures run_soak_bench(worker_pool& pool, const target& t, int server_pid,
                            const std::vector<bench_user>& users, int pairs, int rate,
                            std::chrono::seconds seconds, std::chrono::seconds interval,
                            int sat_rate, std::chrono::seconds sat_seconds, int sat_in_flight,
                            const std::function<void(const soak_window&)>& on_window) {
  soak_figures fig;
  fig.seconds = static_cast<int>(seconds.count());
  auto ph = std::make_unique<phase_state>();
  calls_figures opened;
  auto conns = open_all(pool, t, users, 2 * pairs, opened);
  fig.open_failures = opened.open_failures;
  std::vector<std::shared_ptr<call_peer>> peers;
  for (auto& c : conns)
    if (c) peers.push_back(std::make_shared<call_peer>(c, *ph));
  fig.connections = peers.size();
  if (peers.size() != conns.size()) {
    close_all(conns);
    ph.release();
    throw std::runtime_error("soak: " + std::to_string(fig.connections) + " of " +
                             std::to_string(conns.size()) + " connections opened");
  }
  for (auto& p : peers) asio::post(p->executor(), [p] { p->start(); });
  std::vector<std::shared_ptr<call_peer>> callers;
  std::vector<std::string> callee_ids;
  for (int i = 0; i < pairs; ++i) {
    callers.push_back(peers[2 * static_cast<std::size_t>(i)]);
    callee_ids.push_back(users[2 * static_cast<std::size_t>(i) + 1].user_id);
  }

  // The rate: given, or half of what the server completes at saturation.
  if (rate <= 0) {
    prepare_run(ph->runs[0], 0, sat_rate, sat_seconds, static_cast<std::size_t>(sat_in_flight));
    auto sat = run_one(pool, server_pid, ph->runs[0], callers, callee_ids, sat_rate, sat_seconds);
    fig.saturation_rate = sat.window_rate();
    rate = std::max(1, static_cast<int>(fig.saturation_rate / 2));
    std::fprintf(stderr, "parley-bench: soak: saturation %.0f calls/s; holding %d calls/s\n",
                 fig.saturation_rate, rate);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  fig.rate = rate;
  auto count = static_cast<std::size_t>(rate) * static_cast<std::size_t>(seconds.count());
  if (count >= run_stride)
    throw std::runtime_error("soak: rate x seconds must stay under " + std::to_string(run_stride) +
                             " calls");

  // The soak never skips a call: a server that falls behind shows it in the latency and in the
  // calls still in flight, which is what the soak is for.
  auto& run = ph->runs[1];
  prepare_run(run, 1, rate, seconds, 0);
  run.windowed = true;
  cpu_meter meter(server_pid);
  run.start = steady::now() + std::chrono::milliseconds(50);
  auto lag =
      asio::co_spawn(pool.new_strand(), schedule(run, callers, callee_ids, rate), asio::use_future);
  std::size_t prev_completed = 0;
  std::size_t prev_failed = 0;
  auto window_end = run.start + interval;
  for (; window_end <= run.start + seconds; window_end += interval) {
    std::this_thread::sleep_until(window_end);
    soak_window w;
    w.end_s = std::chrono::duration<double>(window_end - run.start).count();
    latency_recorder rings;
    {
      std::lock_guard lock(run.mutex);
      std::swap(rings, run.window_ringing);
    }
    w.ringing = rings.summarize();
    std::size_t completed = run.completed;
    std::size_t failed = run.failed;
    w.completed = completed - prev_completed;
    w.failed = failed - prev_failed;
    prev_completed = completed;
    prev_failed = failed;
    on_window(w);
  }
  if (lag.wait_until(run.start + seconds + drain_limit) != std::future_status::ready)
    throw std::runtime_error("soak: the scheduler did not finish");
  fig.run = finish_run(run, meter, rate, seconds, lag.get());
  fig.lost = ph->lost;
  {
    std::lock_guard lock(ph->mutex);
    for (const auto& [kind, n] : ph->errors) fig.run.errors["(phase) " + kind] += n;
  }
  close_all(conns);
  peers.clear();
  callers.clear();
  // As in run_calls_bench: pending handlers may still refer to the phase state.
  ph.release();
  return fig;
}

}  // namespace parley::bench
