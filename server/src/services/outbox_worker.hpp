#pragma once
// The delivery thread: sends due outbox entries (webhooks, and pushes through APNs, FCM or the
// app's push gateway), records each outcome in the store, retries with backoff, deletes dead
// push tokens and gives up where docs/protocol.md says. Many deliveries run at once on one
// thread (the HTTP transport's poll); entries that share an order key go one at a time, in order.

#include "common/metrics.hpp"
#include "outbound/http_client.hpp"
#include "services/outbox.hpp"
#include "services/push/apns.hpp"
#include "services/push/fcm.hpp"
#include "services/push/gateway.hpp"
#include "services/push/push_job.hpp"
#include "services/push/signing.hpp"
#include "store/store.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>

namespace parley::services {

struct outbox_worker_config {
  std::string apns_url = "https://api.push.apple.com";
  std::string apns_sandbox_url = "https://api.sandbox.push.apple.com";
  std::string fcm_url = "https://fcm.googleapis.com";
  std::string fcm_oauth_url;  // empty: the service account's token_uri
  std::string ca_file;        // extra CA bundle for outbound TLS
  int max_in_flight = 64;
  std::chrono::milliseconds request_timeout{10'000};
  // Loopback and private receivers allowed (--allow-private-outbound); see address_policy.hpp.
  bool allow_private_outbound = false;
};

// The options of the real HTTP client the worker is given: CA file, concurrency, address policy.
outbound::client_options outbound_options(const outbox_worker_config& config);

// "t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>" (services/push/signing.hpp).
using push::parley_signature;

// Retry delay after `attempts` failed attempts: 1 s doubling, at most 5 minutes.
millis retry_delay_ms(int attempts);

class outbox_worker {
 public:
  using clock_fn = std::function<millis()>;

  // `http` carries every request (webhooks, providers, FCM's token endpoint); it must outlive
  // the worker and is driven by the worker's thread only (wake() aside). `clock` is read for
  // every decision about time (due, retry delay, give-up); tests pass their own.
  outbox_worker(store::store& st, outbox_composer& composer, metrics& m,
                outbox_worker_config config, outbound::http_transport& http,
                clock_fn clock = now_ms);
  ~outbox_worker();
  outbox_worker(const outbox_worker&) = delete;
  outbox_worker& operator=(const outbox_worker&) = delete;

  // Starts the thread (leases left by a previous process are released first).
  void start();
  // Stops taking entries, waits at most `grace` for deliveries in flight, and joins. What is
  // left stays pending in the store for the next process.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));
  // Something was queued: look now instead of at the next poll.
  void wake();

  // One pass of the thread's loop on the calling thread: takes the due entries there is room
  // for and starts them, waits at most `wait` for answers and records those that came. For
  // tests, which drive the worker without start(); never while the thread runs.
  void run_once(std::chrono::milliseconds wait = std::chrono::milliseconds(0));

 private:
  // Who an entry is sent to; its metrics label is "webhook" for webhooks and the push gateway.
  enum class receiver : std::uint8_t { webhook, apns, fcm, gateway };
  using token_key = std::array<std::string, 3>;  // (user_id, token_type, token)

  struct in_flight {
    store::outbox_entry entry;
    receiver to = receiver::webhook;
    push::push_job job;  // pushes
    std::optional<push::apns_credentials> apns;
    std::optional<push::fcm_credentials> fcm;
  };

  static const char* label(receiver r);

  void run();
  void pass(bool take_due, std::chrono::milliseconds wait);
  void dispatch(store::outbox_entry e, millis now);
  void dispatch_webhook(store::outbox_entry e, const store::app_record& app, millis now);
  void dispatch_push(store::outbox_entry e, const store::app_record& app, millis now);
  void on_response(const outbound::response& r, millis now);
  void on_webhook_response(in_flight f, const outbound::response& r, millis now);
  void on_push_response(in_flight f, const outbound::response& r, millis now);
  // Records an attempt that did not deliver: retry after the delay, or give up.
  void retry_or_give_up(in_flight f, std::optional<int> status, std::string error,
                        std::optional<int> retry_after_s, millis now);
  // Records an attempt that did not deliver and will not be tried again.
  void give_up(in_flight f, std::optional<int> status, std::string error, millis now);
  // A push that ends without delivery: failed, with push.failed, maybe deleting the token.
  void push_given_up(const store::outbox_entry& e, std::optional<int> status,
                     const std::string& reason, const std::string& detail,
                     std::optional<token_key> remove_token, millis now);
  void delivered(store::outbox_entry e, std::optional<int> status, millis now);
  void finish(store::delivery_result r);
  void refresh_gauges(millis now);

  // Passed by argument.
  store::store& store_;
  outbox_composer& composer_;
  metrics& metrics_;
  outbound::http_transport& http_;
  // Owned.
  outbox_worker_config config_;
  clock_fn clock_;
  push::apns_client apns_;
  push::fcm_client fcm_;
  push::gateway_client gateway_;
  std::map<std::uint64_t, in_flight> in_flight_;
  std::uint64_t next_tag_ = 1;
  millis next_gauges_at_ = 0;
  millis next_prune_at_ = 0;

  std::atomic<bool> stopping_{false};
  std::chrono::milliseconds grace_{2000};
  std::thread thread_;
};

}  // namespace parley::services
