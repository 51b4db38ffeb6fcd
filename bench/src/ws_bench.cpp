#include "ws_bench.hpp"

#include "http_client.hpp"
#include "proc_probe.hpp"
#include "ws_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>

#include <future>
#include <thread>

namespace parley::bench {

namespace {

using connections = std::vector<std::shared_ptr<ws_connection>>;

constexpr auto open_timeout = std::chrono::seconds(10);  // per connection
constexpr auto open_limit = std::chrono::seconds(120);   // per phase
constexpr auto close_timeout = std::chrono::seconds(5);  // per connection
constexpr auto close_limit = std::chrono::seconds(30);   // per phase

struct opener_result {
  connections opened;
  std::map<std::string, std::size_t> failures;
  latency_recorder latency;
  steady::time_point last_done{};
};

// Built outside the coroutine: g++ 12 rejects braced lists of string literals in coroutine
// bodies ("array used as initializer").
std::string hello_text(const std::string& session_key, const std::string& device_id) {
  return boost::json::serialize(boost::json::object{
      {"type", "hello"}, {"session_key", session_key}, {"device_id", device_id}});
}

// Runs on the connection's strand: open, then keep a read pending while it is held.
asio::awaitable<open_stage> open_and_hold(std::shared_ptr<ws_connection> c, const target& t,
                                          asio::ip::address_v4 source, std::string hello,
                                          std::shared_ptr<std::atomic<std::size_t>> lost) {
  auto stage = co_await c->open(t, source, std::move(hello), open_timeout);
  if (stage == open_stage::ok) c->hold(std::move(lost));
  co_return stage;
}

// One of `concurrency` openers: takes the next connection index until `total` are done.
// Connection i uses user i (round robin) and device id PREFIX-i.
asio::awaitable<opener_result> opener(worker_pool& pool, const target& t,
                                      const std::vector<bench_user>& users,
                                      const std::string& device_prefix, std::atomic<int>& next,
                                      int total, steady::time_point deadline,
                                      std::shared_ptr<std::atomic<std::size_t>> lost) {
  opener_result out;
  for (int i; (i = next++) < total && steady::now() < deadline;) {
    auto index = static_cast<std::size_t>(i);
    auto hello =
        hello_text(users[index % users.size()].session_key, device_prefix + std::to_string(i));
    auto c = std::make_shared<ws_connection>(pool.new_strand());
    auto began = steady::now();
    auto stage = co_await asio::co_spawn(
        c->executor(), open_and_hold(c, t, t.source_for(index), std::move(hello), lost),
        asio::use_awaitable);
    out.last_done = steady::now();
    if (stage == open_stage::ok) {
      out.latency.add(out.last_done - began);
      out.opened.push_back(std::move(c));
    } else {
      ++out.failures[stage_name(stage)];
    }
  }
  co_return out;
}

// Opens `total` connections with `concurrency` in flight; fills the open figures.
connections open_many(worker_pool& pool, const target& t, int server_pid,
                      const std::vector<bench_user>& users, const std::string& device_prefix,
                      int total, int concurrency, std::shared_ptr<std::atomic<std::size_t>> lost,
                      open_figures& fig) {
  fig.requested = total;
  fig.concurrency = concurrency;
  cpu_meter meter(server_pid);
  auto start = steady::now();
  std::atomic<int> next{0};
  std::vector<std::future<opener_result>> futures;
  for (int w = 0; w < concurrency; ++w)
    futures.push_back(
        asio::co_spawn(pool.new_strand(),
                       opener(pool, t, users, device_prefix, next, total, start + open_limit, lost),
                       asio::use_future));
  connections all;
  latency_recorder latency;
  auto last = start;
  for (auto& f : futures) {
    auto r = f.get();
    all.insert(all.end(), r.opened.begin(), r.opened.end());
    for (const auto& [stage, n] : r.failures) fig.failures[stage] += n;
    latency.merge(r.latency);
    last = std::max(last, r.last_done);
  }
  fig.cpu = meter.stop();
  fig.opened = all.size();
  fig.seconds = std::chrono::duration<double>(last - start).count();
  fig.latency = latency.summarize();
  return all;
}

// Close handshakes for all, at once; what has not finished by the phase limit is aborted.
void close_all(connections& conns, open_figures& fig) {
  auto start = steady::now();
  std::vector<std::future<bool>> futures;
  futures.reserve(conns.size());
  for (auto& c : conns)
    futures.push_back(asio::co_spawn(c->executor(), c->close(close_timeout), asio::use_future));
  auto deadline = start + close_limit;
  for (std::size_t i = 0; i < conns.size(); ++i) {
    if (futures[i].wait_until(deadline) == std::future_status::ready) {
      if (futures[i].get()) ++fig.closed_clean;
      continue;
    }
    conns[i]->abort();
    ++fig.aborted;
  }
  // An aborted close completes once its socket is closed.
  for (std::size_t i = 0; i < conns.size(); ++i)
    if (futures[i].valid()) futures[i].wait_for(std::chrono::seconds(2));
  fig.close_seconds = std::chrono::duration<double>(steady::now() - start).count();
  conns.clear();
}

// parley_ws_connections from GET /metrics, or -1.
long long read_ws_gauge(worker_pool& pool, const target& t) {
  auto fetch = [&t]() -> asio::awaitable<long long> {
    http_connection conn(co_await asio::this_coro::executor, t, 0);
    auto reply = co_await conn.request(beast::http::verb::get, "/metrics", {});
    if (!reply || reply->status != 200) co_return -1;
    auto at = reply->body.find("\nparley_ws_connections ");
    if (at == std::string::npos) co_return -1;
    co_return std::strtoll(reply->body.c_str() + at + 23, nullptr, 10);
  };
  return asio::co_spawn(pool.new_strand(), fetch(), asio::use_future).get();
}

}  // namespace

std::size_t open_figures::failed() const {
  std::size_t n = 0;
  for (const auto& [stage, count] : failures) n += count;
  return n;
}

double idle_figures::kib_per_connection() const {
  return open.opened ? static_cast<double>(rss_after_kib - rss_before_kib) /
                           static_cast<double>(open.opened)
                     : 0;
}

double idle_figures::anon_kib_per_connection() const {
  return open.opened ? static_cast<double>(anon_after_kib - anon_before_kib) /
                           static_cast<double>(open.opened)
                     : 0;
}

open_figures run_ws_bench(worker_pool& pool, const target& t, int server_pid,
                          const std::vector<bench_user>& users, int total, int concurrency) {
  open_figures fig;
  auto lost = std::make_shared<std::atomic<std::size_t>>(0);
  auto conns = open_many(pool, t, server_pid, users, "rate-", total, concurrency, lost, fig);
  fig.lost = *lost;  // losses after this point are our own closes
  close_all(conns, fig);
  return fig;
}

idle_figures run_idle_bench(worker_pool& pool, const target& t, int server_pid,
                            const std::vector<bench_user>& users, int connections,
                            int concurrency) {
  idle_figures fig;
  auto lost = std::make_shared<std::atomic<std::size_t>>(0);
  // Let the server settle after the previous phase (sessions, page cache) before the baseline.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  if (auto s = sample_process(server_pid)) {
    fig.rss_before_kib = s->vm_rss_kib;
    fig.anon_before_kib = s->rss_anon_kib;
  }
  auto conns =
      open_many(pool, t, server_pid, users, "idle-", connections, concurrency, lost, fig.open);
  // All welcomes are in; give the server's threads a moment to finish their bookkeeping.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  if (auto s = sample_process(server_pid)) {
    fig.rss_after_kib = s->vm_rss_kib;
    fig.anon_after_kib = s->rss_anon_kib;
  }
  fig.server_gauge = read_ws_gauge(pool, t);
  fig.open.lost = *lost;
  close_all(conns, fig.open);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  if (auto s = sample_process(server_pid)) fig.rss_after_close_kib = s->vm_rss_kib;
  return fig;
}

}  // namespace parley::bench
