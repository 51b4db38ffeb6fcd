#include "auth_bench.hpp"

#include "http_client.hpp"
#include "proc_probe.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/http/verb.hpp>

#include <future>
#include <thread>

namespace parley::bench {

namespace http = beast::http;

namespace {

struct client_result {
  std::size_t ok = 0;
  std::map<unsigned, std::size_t> errors_by_status;
  std::size_t transport_errors = 0;
  std::size_t connects = 0;
  latency_recorder latency;
};

asio::awaitable<client_result> auth_client(const target& t, std::size_t index, std::string body,
                                           steady::time_point window_start,
                                           steady::time_point window_end) {
  client_result out;
  http_connection conn(co_await asio::this_coro::executor, t, index);
  const auto path = "/v1/apps/" + t.app_id + "/auth";
  // Bounded by time: the loop ends at window_end, and each request by its own timeout.
  while (steady::now() < window_end) {
    auto sent = steady::now();
    auto reply = co_await conn.request(http::verb::post, path, body, {}, std::chrono::seconds(5));
    auto done = steady::now();
    if (!reply) {
      ++out.transport_errors;
      // Do not spin on a server that refuses connections.
      asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::use_awaitable);
      continue;
    }
    if (sent < window_start || done > window_end) continue;  // warm-up or run-out
    if (reply->status == 200) {
      ++out.ok;
      out.latency.add(done - sent);
    } else {
      ++out.errors_by_status[reply->status];
    }
  }
  out.connects = conn.connects();
  co_return out;
}

}  // namespace

std::size_t auth_result::errors() const {
  std::size_t n = 0;
  for (const auto& [status, count] : errors_by_status) n += count;
  return n;
}

auth_result run_auth_bench(worker_pool& pool, const target& t, int server_pid,
                           const std::vector<bench_user>& users, int clients,
                           std::chrono::seconds warmup, std::chrono::seconds duration) {
  auto start = steady::now();
  auto window_start = start + warmup;
  auto window_end = window_start + duration;
  std::vector<std::future<client_result>> futures;
  for (int c = 0; c < clients; ++c) {
    const auto& u = users[static_cast<std::size_t>(c) % users.size()];
    futures.push_back(asio::co_spawn(
        pool.new_strand(),
        auth_client(t, static_cast<std::size_t>(c), auth_body(u), window_start, window_end),
        asio::use_future));
  }

  // CPU time of both processes across the measured window.
  std::this_thread::sleep_until(window_start);
  cpu_meter meter(server_pid);
  std::this_thread::sleep_until(window_end);
  auto cpu = meter.stop();

  auth_result out;
  out.clients = clients;
  out.window_s = std::chrono::duration<double>(duration).count();
  out.cpu = cpu;
  latency_recorder all;
  for (auto& f : futures) {
    auto r = f.get();
    out.ok += r.ok;
    for (const auto& [status, count] : r.errors_by_status) out.errors_by_status[status] += count;
    out.transport_errors += r.transport_errors;
    out.connects += r.connects;
    all.merge(r.latency);
  }
  out.latency = all.summarize();
  return out;
}

}  // namespace parley::bench
