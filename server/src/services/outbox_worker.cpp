#include "services/outbox_worker.hpp"

#include "common/log.hpp"

#include <algorithm>

namespace parley::services {

namespace {

// An entry taken by this process is not taken again for this long; a crash leaves it to the
// next process (which releases every lease at start).
constexpr millis lease_ms = 120'000;
constexpr std::chrono::milliseconds idle_poll{100};
constexpr millis delivered_kept_ms = 3600'000;
constexpr millis failed_kept_ms = 30LL * 24 * 3600'000;

std::string http_error(const outbound::response& r) {
  return r.status ? "HTTP " + std::to_string(r.status) : r.error;
}

// The one push of an outbox entry, as the providers take it.
push::push_message message_of(const store::outbox_entry& e, const push::push_job& job) {
  push::push_message msg;
  msg.event_id = e.event_id;
  msg.user_id = job.user_id;
  msg.token_type = job.token_type;
  msg.token = job.token;
  msg.parley_json = job.parley_json;
  msg.cancel = e.event == push_cancel_event;
  msg.is_video = job.is_video;
  msg.title = job.title;
  msg.collapse_id = job.call_id;
  msg.expires_at = e.give_up_at;
  msg.created_at = e.created_at;
  return msg;
}

}  // namespace

outbound::client_options outbound_options(const outbox_worker_config& config) {
  outbound::client_options o;
  o.ca_file = config.ca_file;
  o.max_in_flight = static_cast<std::size_t>(config.max_in_flight);
  o.policy.allow_private = config.allow_private_outbound;
  return o;
}

millis retry_delay_ms(int attempts) {
  constexpr millis cap = 5 * 60 * 1000;
  if (attempts <= 1) return 1000;
  if (attempts > 20) return cap;
  return std::min<millis>(cap, 1000LL << (attempts - 1));
}

outbox_worker::outbox_worker(store::store& st, outbox_composer& composer, metrics& m,
                             outbox_worker_config config, outbound::http_transport& http,
                             clock_fn clock)
    : store_(st),
      composer_(composer),
      metrics_(m),
      http_(http),
      config_(std::move(config)),
      clock_(std::move(clock)) {}

outbox_worker::~outbox_worker() {
  stop();
}

const char* outbox_worker::label(receiver r) {
  switch (r) {
    case receiver::apns:
      return "apns";
    case receiver::fcm:
      return "fcm";
    case receiver::webhook:
    case receiver::gateway:
      break;
  }
  return "webhook";
}

void outbox_worker::start() {
  if (auto r = store_.release_outbox_leases(); !r)
    log::error("outbox_release_failed", {{"message", r.error().message}});
  thread_ = std::thread([this] { run(); });
}

void outbox_worker::stop(std::chrono::milliseconds grace) {
  if (!thread_.joinable()) return;
  grace_ = grace;
  stopping_ = true;
  http_.wake();
  thread_.join();
}

void outbox_worker::wake() {
  http_.wake();
}

void outbox_worker::run() {
  millis stop_by = 0;
  while (true) {
    bool take_due = true;
    if (stopping_) {
      millis now = clock_();
      if (stop_by == 0) stop_by = now + grace_.count();
      if (in_flight_.empty() || now >= stop_by) break;
      take_due = false;
    }
    pass(take_due, idle_poll);
  }
  // Whatever is still in flight keeps its lease and is released by the next process.
  in_flight_.clear();
}

void outbox_worker::run_once(std::chrono::milliseconds wait) {
  pass(true, wait);
}

void outbox_worker::pass(bool take_due, std::chrono::milliseconds wait) {
  millis now = clock_();
  if (take_due && static_cast<int>(in_flight_.size()) < config_.max_in_flight) {
    auto room = config_.max_in_flight - static_cast<int>(in_flight_.size());
    auto due = store_.claim_due_outbox(now, now + lease_ms, room);
    if (due) {
      for (auto& e : *due) dispatch(std::move(e), now);
    } else {
      log::error("outbox_claim_failed", {{"message", due.error().message}});
    }
  }
  if (now >= next_gauges_at_) refresh_gauges(now);
  auto done = http_.poll(wait);
  now = clock_();
  for (const auto& r : done) on_response(r, now);
}

void outbox_worker::dispatch(store::outbox_entry e, millis now) {
  auto app = store_.find_app(e.app_id);
  if (!app) {
    // The app was deleted (its entries go with it) or the store is down: try later.
    in_flight f{std::move(e), receiver::webhook, {}, {}, {}};
    retry_or_give_up(std::move(f), std::nullopt, "app unavailable", std::nullopt, now);
    return;
  }
  if (e.kind == store::outbox_kind::webhook)
    dispatch_webhook(std::move(e), *app, now);
  else
    dispatch_push(std::move(e), *app, now);
}

void outbox_worker::dispatch_webhook(store::outbox_entry e, const store::app_record& app,
                                     millis now) {
  if (now >= e.give_up_at) {
    in_flight f{std::move(e), receiver::webhook, {}, {}, {}};
    retry_or_give_up(std::move(f), std::nullopt, "gave up", std::nullopt, now);
    return;
  }
  if (!app.settings.webhook_url) {
    // The app removed its URL: nowhere to retry to, so the entry fails now rather than being
    // tried for the whole give-up period (it can be retried by hand once a URL is set again).
    give_up(in_flight{std::move(e), receiver::webhook, {}, {}, {}}, std::nullopt,
            "the app has no webhook_url", now);
    return;
  }
  outbound::request req;
  req.tag = next_tag_++;
  req.url = *app.settings.webhook_url;
  req.body = e.payload;
  req.timeout = config_.request_timeout;
  req.headers = {
      {"Content-Type", "application/json"},
      {"Parley-Event-Id", e.event_id},
      {"Parley-Event", e.event},
      {"Parley-Signature", parley_signature(app.settings.webhook_secret, now / 1000, req.body)}};
  auto tag = req.tag;
  in_flight_.emplace(tag, in_flight{std::move(e), receiver::webhook, {}, {}, {}});
  http_.start(std::move(req));
}

void outbox_worker::dispatch_push(store::outbox_entry e, const store::app_record& app, millis now) {
  auto job = push::decode_push_job(e.payload);
  if (!job) {
    push_given_up(e, std::nullopt, "rejected", "rejected", std::nullopt, now);
    return;
  }
  // Which provider: APNs or FCM for their token types when the app configured them, else the
  // app's own gateway for any token.
  const auto& s = app.settings;
  std::optional<receiver> to;
  auto type = from_string<push::token_type>(job->token_type);
  if ((type == push::token_type::apns || type == push::token_type::apns_voip) && s.push.apns)
    to = receiver::apns;
  else if (type == push::token_type::fcm && s.push.fcm)
    to = receiver::fcm;
  else if (s.push.webhook_url)
    to = receiver::gateway;
  if (!to) {
    metrics_.push_deliveries_total.add({"none", "not_configured"});
    push_given_up(e, std::nullopt, "not_configured", "", std::nullopt, now);
    return;
  }
  if (now >= e.give_up_at) {
    push_given_up(e, std::nullopt, "expired", "expired", std::nullopt, now);
    metrics_.push_deliveries_total.add({label(*to), "expired"});
    return;
  }

  auto msg = message_of(e, *job);
  in_flight f{std::move(e), *to, std::move(*job), {}, {}};
  result<outbound::request> req = fail(errc::internal, "no provider");
  switch (f.to) {
    case receiver::apns: {
      const auto& a = *s.push.apns;
      f.apns = push::apns_credentials{a.private_key, a.key_id, a.team_id, a.bundle_id, a.sandbox};
      req = apns_.build(*f.apns, a.sandbox ? config_.apns_sandbox_url : config_.apns_url, msg, now);
      break;
    }
    case receiver::fcm: {
      const auto& c = *s.push.fcm;
      f.fcm = push::fcm_credentials{
          c.project_id, c.client_email, c.private_key_id, c.private_key,
          c.token_uri.empty() ? "https://oauth2.googleapis.com/token" : c.token_uri};
      // Blocks this thread for one token request an hour per service account.
      auto token = fcm_.access_token(http_, *f.fcm, config_.fcm_oauth_url, now);
      if (!token) {
        if (token.error().code == errc::unavailable) {
          retry_or_give_up(std::move(f), std::nullopt, "oauth: " + token.error().message,
                           std::nullopt, now);
        } else {
          metrics_.push_deliveries_total.add({"fcm", "rejected"});
          push_given_up(f.entry, std::nullopt, "rejected", "oauth: " + token.error().message,
                        std::nullopt, now);
        }
        return;
      }
      req = fcm_.build(*f.fcm, config_.fcm_url, *token, msg, now);
      break;
    }
    case receiver::gateway:
      req = gateway_.build({*s.push.webhook_url, s.webhook_secret, app.app_id}, msg, now);
      break;
    case receiver::webhook:
      break;
  }
  if (!req) {
    metrics_.push_deliveries_total.add({label(f.to), "rejected"});
    push_given_up(f.entry, std::nullopt, "rejected", req.error().message, std::nullopt, now);
    return;
  }
  req->tag = next_tag_++;
  req->timeout = config_.request_timeout;
  auto tag = req->tag;
  in_flight_.emplace(tag, std::move(f));
  http_.start(std::move(*req));
}

void outbox_worker::on_response(const outbound::response& r, millis now) {
  auto it = in_flight_.find(r.tag);
  if (it == in_flight_.end()) return;
  auto f = std::move(it->second);
  in_flight_.erase(it);
  // The app sees r.error (generic); what libcurl said is for the operator only.
  if (r.status == 0)
    log::warn("outbound_failed",
              {{"event_id", f.entry.event_id}, {"provider", label(f.to)}, {"detail", r.detail}});
  if (f.entry.kind == store::outbox_kind::webhook)
    on_webhook_response(std::move(f), r, now);
  else
    on_push_response(std::move(f), r, now);
}

void outbox_worker::on_webhook_response(in_flight f, const outbound::response& r, millis now) {
  std::optional<int> status;
  if (r.status) status = r.status;
  if (r.status >= 200 && r.status < 300) {
    metrics_.webhook_deliveries_total.add({"delivered"});
    delivered(std::move(f.entry), status, now);
    return;
  }
  retry_or_give_up(std::move(f), status, http_error(r), std::nullopt, now);
}

void outbox_worker::on_push_response(in_flight f, const outbound::response& r, millis now) {
  push::classified c;
  switch (f.to) {
    case receiver::apns:
      c = apns_.classify(r);
      break;
    case receiver::fcm:
      c = fcm_.classify(r);
      break;
    case receiver::gateway:
    case receiver::webhook:
      c = gateway_.classify(r);
      break;
  }
  std::optional<int> status;
  if (r.status) status = r.status;
  switch (c.outcome) {
    case push::push_outcome::delivered:
      metrics_.push_deliveries_total.add({label(f.to), "delivered"});
      delivered(std::move(f.entry), status, now);
      return;
    case push::push_outcome::unregistered:
      metrics_.push_deliveries_total.add({label(f.to), "unregistered"});
      push_given_up(f.entry, status, "unregistered", c.reason,
                    token_key{f.job.user_id, f.job.token_type, f.job.token}, now);
      return;
    case push::push_outcome::reauthenticate:
      if (f.apns) apns_.invalidate(*f.apns);
      if (f.fcm) fcm_.invalidate(*f.fcm);
      [[fallthrough]];
    case push::push_outcome::retry:
      retry_or_give_up(std::move(f), status, c.reason.empty() ? http_error(r) : c.reason,
                       c.retry_after_s, now);
      return;
    case push::push_outcome::rejected:
      metrics_.push_deliveries_total.add({label(f.to), "rejected"});
      push_given_up(f.entry, status, "rejected", c.reason, std::nullopt, now);
      return;
  }
}

void outbox_worker::retry_or_give_up(in_flight f, std::optional<int> status, std::string error,
                                     std::optional<int> retry_after_s, millis now) {
  auto& e = f.entry;
  // Backoff doubles per attempt; a Retry-After longer than that is honoured. When the next try
  // would come after the give-up time, the entry ends now instead.
  millis delay = retry_delay_ms(e.attempts + 1);
  if (retry_after_s) delay = std::max<millis>(delay, *retry_after_s * 1000LL);
  if (now + delay > e.give_up_at) {
    give_up(std::move(f), status, std::move(error), now);
    return;
  }
  e.attempts += 1;
  if (e.kind == store::outbox_kind::webhook)
    metrics_.webhook_deliveries_total.add({"retried"});
  else
    metrics_.push_deliveries_total.add({label(f.to), "retried"});
  e.last_status = status;
  e.last_error = std::move(error);
  e.next_attempt_at = now + delay;
  finish({std::move(e), {}, std::nullopt});
}

void outbox_worker::give_up(in_flight f, std::optional<int> status, std::string error, millis now) {
  auto& e = f.entry;
  if (e.kind == store::outbox_kind::webhook) {
    e.attempts += 1;  // (push_given_up counts a push's last attempt)
    metrics_.webhook_deliveries_total.add({"failed"});
    e.state = store::delivery_state::failed;
    e.last_status = status;
    e.last_error = std::move(error);
    e.next_attempt_at = now;
    log::warn("webhook_failed", {{"event_id", e.event_id}, {"attempts", e.attempts}});
    finish({std::move(e), {}, std::nullopt});
  } else {
    metrics_.push_deliveries_total.add({label(f.to), "expired"});
    push_given_up(e, status, "expired", error, std::nullopt, now);
  }
}

void outbox_worker::push_given_up(const store::outbox_entry& e, std::optional<int> status,
                                  const std::string& reason, const std::string& detail,
                                  std::optional<token_key> remove_token, millis now) {
  store::delivery_result r;
  r.entry = e;
  r.entry.state = store::delivery_state::failed;
  r.entry.attempts += 1;
  r.entry.last_status = status;
  r.entry.last_error = detail.empty() ? reason : reason + ": " + detail;
  r.entry.next_attempt_at = now;
  auto app = store_.find_app(e.app_id);
  if (app) r.add = composer_.push_failed(*app, e, reason, now);
  r.remove_push_token = std::move(remove_token);
  log::info("push_given_up", {{"event_id", e.event_id}, {"reason", reason}});
  finish(std::move(r));
}

void outbox_worker::delivered(store::outbox_entry e, std::optional<int> status, millis now) {
  e.state = store::delivery_state::delivered;
  e.attempts += 1;
  e.last_status = status;
  e.last_error.reset();
  e.next_attempt_at = now;
  finish({std::move(e), {}, std::nullopt});
}

void outbox_worker::finish(store::delivery_result r) {
  if (auto x = store_.complete_delivery(r); !x)
    log::error("outbox_complete_failed",
               {{"event_id", r.entry.event_id}, {"message", x.error().message}});
}

void outbox_worker::refresh_gauges(millis now) {
  next_gauges_at_ = now + 1000;
  for (auto kind : {store::outbox_kind::webhook, store::outbox_kind::push}) {
    auto i = static_cast<std::size_t>(kind);
    auto s = store_.outbox_pending_stats(kind);
    if (!s) continue;
    metrics_.outbox_pending[i] = s->pending;
    metrics_.outbox_oldest_pending_s[i] =
        s->oldest_created_at ? std::max<millis>(0, (now - *s->oldest_created_at) / 1000) : 0;
  }
  if (now >= next_prune_at_) {
    next_prune_at_ = now + 60'000;
    (void)store_.prune_outbox(now - delivered_kept_ms, now - failed_kept_ms);
  }
}

}  // namespace parley::services
