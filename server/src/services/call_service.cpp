#include "services/call_service.hpp"

#include "common/crypto.hpp"
#include "common/log.hpp"
#include "services/limits.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <mutex>

namespace parley::services {

namespace {

// Racing writers on one call are few (the devices of one user); past this many lost races
// something is wrong, and the request fails rather than spins.
constexpr int max_cas_attempts = 32;

failure bad_call_id() {
  return fail(errc::invalid_request, "call_id must be a lowercase UUID", "call_id");
}

std::optional<std::int64_t> parse_day(const std::string& s) {
  using namespace std::chrono;
  int y = 0;
  unsigned m = 0, d = 0;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  // Digits only: from_chars alone takes a sign ("-001-01-01" would be the year -1).
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  auto num = [&](std::size_t pos, std::size_t len, auto& out) {
    auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, out);
    return ec == std::errc() && p == s.data() + pos + len;
  };
  if (!num(0, 4, y) || !num(5, 2, m) || !num(8, 2, d)) return std::nullopt;
  year_month_day ymd{year{y}, month{m}, day{d}};
  if (!ymd.ok()) return std::nullopt;
  return sys_days{ymd}.time_since_epoch().count();
}

std::string format_day(std::int64_t days) {
  using namespace std::chrono;
  year_month_day ymd{sys_days{std::chrono::days{days}}};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

}  // namespace

std::int64_t billable_minutes(const store::call_record& c) {
  if (!c.connected_at || !c.ended_at || *c.ended_at <= *c.connected_at) return 0;
  return (*c.ended_at - *c.connected_at + 59'999) / 60'000;
}

void call_service::dial(const caller_context& from, const dial_request& req, millis now,
                        call_callback done) {
  if (!limits::valid_user_id(req.callee_id))
    return done(fail(errc::invalid_request, "callee_id is not a valid user id", "callee_id"));
  if (req.callee_id == from.user_id)
    return done(fail(errc::dial_myself, "you cannot call yourself"));
  // The callee and the app in one read (the app's record is cached while unchanged).
  auto found = store_.find_app_and_user(from.app_id, req.callee_id);
  if (!found) return done(found.error());
  if (!found->user)
    return done(fail(errc::callee_not_found, "no user " + req.callee_id + " in this app"));
  const auto* app = &found->app;
  const auto& s = app->settings;
  auto call = calls::dial(crypto::uuid_v4(), from.app_id, from.user_id, req.callee_id, req.is_video,
                          req.custom_items, {from.connection_id, from.device_id, std::nullopt},
                          s.ringing_timeout_s * 1000LL, s.connection_timeout_s * 1000LL,
                          s.reconnect_grace_s * 1000LL, now);
  std::vector<store::outbox_entry> outbox;
  if (composer_ && uses_outbox(s)) {
    std::vector<store::push_token_record> none;
    auto tokens = has_push_provider(s) ? store_.list_push_tokens(from.app_id, req.callee_id)
                                       : result<std::vector<store::push_token_record>>(none);
    if (!tokens) return done(tokens.error());
    std::string nickname;
    if (!tokens->empty()) {
      auto caller = store_.find_user(from.app_id, from.user_id);
      if (caller) nickname = caller->nickname;
    }
    outbox = composer_->call_dialed(*app, call, nickname, *tokens, now);
  }
  auto stored = [this, call, done = std::move(done)](result<void> r) {
    if (!r) return done(r.error());
    // Committed: only now may anyone be told, and find the call.
    open_.put(call);
    for (const auto& e : calls::dial_effects()) notifier_.deliver(call, e);
    done(call);
  };
  // Counted against the calls ringing now in the write itself, so that dials racing through
  // the group commit cannot all pass the limits.
  store::ringing_limits limits{s.max_ringing_per_caller, s.max_ringing_per_callee};
  store_.create_call_batched(call, std::move(outbox), std::move(stored), limits);
}

result<store::call_record> call_service::load(const std::string& app_id,
                                              const std::string& call_id) {
  if (auto open = open_.find(app_id, call_id)) return std::move(*open);
  return store_.find_call(app_id, call_id);
}

void call_service::transition(const std::string& app_id, const std::string& call_id,
                              calls::event ev, millis now, call_callback done) {
  if (!crypto::is_uuid_v4(call_id)) return done(bad_call_id());
  auto current = load(app_id, call_id);
  if (!current) return done(current.error());
  transition(std::move(*current), std::move(ev), now, 0, std::move(done));
}

void call_service::transition(store::call_record current, calls::event ev, millis now, int attempt,
                              call_callback done) {
  if (attempt >= max_cas_attempts) {
    log::error("call_cas_exhausted", {{"call_id", current.call_id}});
    return done(fail(errc::unavailable, "the call is changing too fast; try again"));
  }
  auto out = calls::apply(current, ev, now);
  if (!out) return done(out.error());
  if (!out->changed) return done(std::move(out->next));
  auto outbox = outbox_for(current, out->next, now);
  if (!outbox) return done(outbox.error());
  auto next = out->next;
  auto stored = [this, app_id = current.app_id, call_id = current.call_id, ev = std::move(ev), now,
                 attempt, next, effects = std::move(out->effects),
                 done = std::move(done)](result<bool> won) mutable {
    if (!won) return done(won.error());
    if (*won) {
      // Committed: only now may anyone be told.
      open_.put(next);
      for (const auto& e : effects) notifier_.deliver(next, e);
      return done(std::move(next));
    }
    // Another writer changed the call first: apply the event to what it wrote, read from the
    // store (its put here may still be on its way). A call another process changed or deleted
    // (with its app) is corrected or forgotten here.
    auto fresh = store_.find_call(app_id, call_id);
    if (!fresh) {
      if (fresh.error().code == errc::not_found) open_.erase(call_id);
      return done(fresh.error());
    }
    open_.refresh(*fresh);
    transition(std::move(*fresh), std::move(ev), now, attempt + 1, std::move(done));
  };
  store_.update_call_batched(next, std::move(*outbox), std::move(stored));
}

result<std::vector<store::outbox_entry>> call_service::outbox_for(const store::call_record& before,
                                                                  const store::call_record& after,
                                                                  millis now) {
  using store::call_state;
  if (!composer_ || before.state == after.state ||
      (after.state != call_state::accepted && after.state != call_state::ended))
    return std::vector<store::outbox_entry>{};
  auto app = store_.find_app(after.app_id);
  if (!app) return app.error();
  if (!uses_outbox(app->settings)) return std::vector<store::outbox_entry>{};
  std::vector<store::push_token_record> tokens;
  if (before.state == call_state::ringing && has_push_provider(app->settings)) {
    auto t = store_.list_push_tokens(after.app_id, after.callee_id);
    if (!t) return t.error();
    tokens = std::move(*t);
  }
  return composer_->call_changed(*app, before, after, tokens, now);
}

void call_service::transition_each(
    std::vector<store::call_record> calls,
    const std::function<calls::event(const store::call_record&)>& event_of, millis now,
    answers_callback done) {
  if (calls.empty()) return done({});
  struct pass {
    std::mutex mutex;
    std::vector<std::optional<result<store::call_record>>> answers;
    std::size_t left = 0;
    answers_callback done;
  };
  auto p = std::make_shared<pass>();
  p->answers.resize(calls.size());
  p->left = calls.size();
  p->done = std::move(done);
  for (std::size_t i = 0; i < calls.size(); ++i) {
    auto ev = event_of(calls[i]);
    transition(std::move(calls[i]), std::move(ev), now, 0, [p, i](result<store::call_record> r) {
      std::unique_lock lock(p->mutex);
      p->answers[i].emplace(std::move(r));
      if (--p->left > 0) return;
      std::vector<result<store::call_record>> all;
      all.reserve(p->answers.size());
      for (auto& a : p->answers) all.push_back(std::move(*a));
      lock.unlock();
      p->done(std::move(all));
    });
  }
}

void call_service::accept(const caller_context& from, const std::string& call_id, millis now,
                          call_callback done) {
  transition(from.app_id, call_id,
             calls::accept_event{from.user_id, from.connection_id, from.device_id}, now,
             std::move(done));
}

void call_service::decline(const caller_context& from, const std::string& call_id, millis now,
                           call_callback done) {
  transition(from.app_id, call_id, calls::decline_event{from.user_id}, now, std::move(done));
}

void call_service::end(const caller_context& from, const std::string& call_id, millis now,
                       call_callback done) {
  transition(from.app_id, call_id, calls::end_event{from.user_id}, now, std::move(done));
}

void call_service::media_connected(const caller_context& from, const std::string& call_id,
                                   millis now, call_callback done) {
  transition(from.app_id, call_id, calls::media_connected_event{from.connection_id}, now,
             std::move(done));
}

result<std::pair<store::call_record, std::string>> call_service::relay(const caller_context& from,
                                                                       const std::string& call_id) {
  if (!crypto::is_uuid_v4(call_id)) return bad_call_id();
  auto call = load(from.app_id, call_id);
  if (!call) return call.error();
  auto target = calls::relay_target(*call, from.connection_id);
  if (!target) return target.error();
  return std::make_pair(std::move(*call), std::move(*target));
}

namespace {

// How many of a pass's answers changed their call (a call answered as it was is not counted).
int changed_count(const std::vector<store::call_record>& before,
                  const std::vector<result<store::call_record>>& after) {
  int n = 0;
  for (std::size_t i = 0; i < after.size(); ++i)
    if (after[i] && after[i]->version != before[i].version) ++n;
  return n;
}

}  // namespace

void call_service::connection_closed(const std::string& connection_id, millis now,
                                     count_callback done) {
  auto open = store_.calls_on_connection(connection_id);
  if (!open) {
    if (done) done(0);
    return;
  }
  auto before = *open;
  transition_each(
      std::move(*open),
      [&](const store::call_record&) { return calls::connection_lost_event{connection_id}; }, now,
      [before = std::move(before), done = std::move(done)](auto answers) {
        if (done) done(changed_count(before, answers));
      });
}

void call_service::connection_opened(const caller_context& who, millis now, calls_callback done) {
  auto open = store_.ongoing_calls(who.app_id, who.user_id);
  if (!open) return done(open.error());
  if (who.device_id.empty()) return done(std::move(*open));
  transition_each(
      std::move(*open),
      [&](const store::call_record&) {
        return calls::rebind_event{who.user_id, who.device_id, who.connection_id};
      },
      now,
      [done = std::move(done)](std::vector<result<store::call_record>> answers) {
        std::vector<store::call_record> out;
        for (auto& r : answers)
          if (r && r->state != store::call_state::ended) out.push_back(std::move(*r));
        done(std::move(out));
      });
}

void call_service::user_removed(const std::string& app_id, const std::string& user_id, millis now,
                                count_callback done) {
  auto open = store_.ongoing_calls(app_id, user_id);
  if (!open) {
    if (done) done(0);
    return;
  }
  auto before = *open;
  transition_each(
      std::move(*open),
      [&](const store::call_record&) { return calls::party_removed_event{user_id}; }, now,
      [before = std::move(before), done = std::move(done)](auto answers) {
        if (done) done(changed_count(before, answers));
      });
}

void call_service::app_removed(const std::string& app_id) {
  open_.erase_app(app_id);
}

void call_service::fire_timers(millis now, count_callback done) {
  if (timers_running_.exchange(true)) {
    if (done) done(0);
    return;
  }
  auto due = store_.due_calls(now, 500);
  if (!due) {
    timers_running_ = false;
    if (done) done(0);
    return;
  }
  auto before = *due;
  transition_each(
      std::move(*due), [](const store::call_record&) { return calls::timer_event{}; }, now,
      [this, before = std::move(before), done = std::move(done)](auto answers) {
        timers_running_ = false;
        if (done) done(changed_count(before, answers));
      });
}

void call_service::record_alive(millis now) {
  (void)store_.set_meta("alive_at", now);
}

void call_service::recover(millis now, count_callback done) {
  auto alive = store_.get_meta("alive_at");
  std::optional<millis> last_alive = alive ? *alive : std::nullopt;
  auto open = store_.unfinished_calls();
  if (!open || open->empty()) {
    record_alive(now);
    if (done) done(0);
    return;
  }
  // Each call ended when the previous process stopped, not when this one started: downtime is
  // never billed. Without a record of that moment, now is the only bound we have.
  struct pending {
    std::mutex mutex;
    std::size_t left = 0;
    int ended = 0;
  };
  auto p = std::make_shared<pending>();
  p->left = open->size();
  auto finished = [this, p, now, done = std::move(done)](result<store::call_record> r) {
    std::unique_lock lock(p->mutex);
    if (r) ++p->ended;
    if (--p->left > 0) return;
    int ended = p->ended;
    lock.unlock();
    if (ended)
      log::warn("calls_ended_at_start",
                {{"count", ended}, {"end_result", to_string(store::end_result::unknown)}});
    record_alive(now);
    if (done) done(ended);
  };
  for (auto& c : *open) {
    millis at = last_alive ? std::clamp(*last_alive, c.created_at, now) : now;
    if (c.accepted_at) at = std::max(at, *c.accepted_at);
    if (c.connected_at) at = std::max(at, *c.connected_at);
    transition(std::move(c), calls::restart_event{}, at, 0, finished);
  }
}

result<store::call_record> call_service::find(const std::string& app_id,
                                              const std::string& call_id) {
  if (!crypto::is_uuid_v4(call_id)) return bad_call_id();
  return load(app_id, call_id);
}

result<call_page> call_service::list(const std::string& app_id, const std::string& user_id,
                                     int limit, const std::string& cursor) {
  if (auto r = check_page_limit(limit); !r) return r.error();
  if (!user_id.empty() && !limits::valid_user_id(user_id))
    return fail(errc::invalid_request, "user_id is not a valid user id", "user_id");
  // The cursor is the last call's dial time and id: the log is newest first.
  std::optional<std::pair<millis, std::string>> before;
  if (!cursor.empty()) {
    auto key = decode_cursor(cursor);
    if (!key) return key.error();
    auto colon = key->find(':');
    if (colon == std::string::npos) return bad_cursor();
    millis at = 0;
    auto [p, ec] = std::from_chars(key->data(), key->data() + colon, at);
    if (ec != std::errc() || p != key->data() + colon) return bad_cursor();
    before.emplace(at, key->substr(colon + 1));
  }
  auto rows = store_.list_calls(app_id, user_id, before, limit + 1);
  if (!rows) return rows.error();
  call_page page;
  page.calls = std::move(*rows);
  page.next = trim_page(page.calls, limit, [](const auto& c) {
    return std::to_string(c.created_at) + ":" + c.call_id;
  });
  return page;
}

result<usage_report> call_service::usage(const std::string& app_id, const std::string& from,
                                         const std::string& to) {
  auto first = parse_day(from);
  if (!first) return fail(errc::invalid_request, "from must be a date YYYY-MM-DD", "from");
  auto last = parse_day(to);
  if (!last) return fail(errc::invalid_request, "to must be a date YYYY-MM-DD", "to");
  if (*last < *first) return fail(errc::invalid_request, "to is before from", "to");
  if (*last - *first + 1 > 366)
    return fail(errc::invalid_request, "at most 366 days per query", "to");
  auto rows = store_.calls_created_between(app_id, *first * day_ms, (*last + 1) * day_ms);
  if (!rows) return rows.error();
  usage_report report;
  for (auto d = *first; d <= *last; ++d) report.days.push_back({format_day(d), 0, 0, 0});
  // A call counts on the UTC day it was dialed, even when it ends after midnight.
  for (const auto& c : *rows) {
    auto& day = report.days.at(static_cast<std::size_t>(c.created_at / day_ms - *first));
    auto minutes = billable_minutes(c);
    ++day.calls;
    if (c.connected_at) ++day.connected_calls;
    day.billable_minutes += minutes;
    report.total_billable_minutes += minutes;
  }
  return report;
}

}  // namespace parley::services
