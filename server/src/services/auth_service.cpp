#include "services/auth_service.hpp"

#include "common/crypto.hpp"
#include "services/jwt.hpp"
#include "services/limits.hpp"

namespace parley::services {

auth_service::auth_service(store::store& st, connection_hub& hub, ice_config ice, auth_limits lim,
                           metrics& m)
    : store_(st),
      hub_(hub),
      ice_(std::move(ice)),
      metrics_(m),
      by_user_(lim.failures_per_user, lim.window_ms),
      by_address_(lim.failures_per_address, lim.window_ms),
      admin_by_address_(lim.failures_per_address, lim.window_ms) {}

int auth_service::retry_after_s(const std::string& user_key, const std::string& remote_address,
                                millis now) {
  return std::max(by_user_.retry_after_s(user_key, now),
                  by_address_.retry_after_s(remote_address, now));
}

failure auth_service::refused(failure f, const std::string& user_key,
                              const std::string& remote_address, millis now) {
  if (f.code == errc::invalid_credentials || f.code == errc::token_expired) {
    by_user_.record_failure(user_key, now);
    by_address_.record_failure(remote_address, now);
  }
  metrics_.auth_total.add({std::string(code_name(f.code))});
  return f;
}

namespace {
failure too_many(int wait) {
  auto f = fail(errc::rate_limited, "too many failed attempts; try again later");
  f.retry_after_s = wait;
  return f;
}
}  // namespace

result<void> auth_service::admin_attempt(std::string_view presented, std::string_view configured,
                                         const std::string& remote_address, millis now) {
  // Hash both sides so the comparison is constant-time whatever the lengths. Failures are
  // limited per address (429 with Retry-After), so the token cannot be guessed at speed.
  bool good = crypto::constant_time_equal(crypto::sha256(presented), crypto::sha256(configured));
  // Refused before the token is looked at: a limited address learns nothing from trying.
  if (int wait = admin_by_address_.retry_after_s(remote_address, now); wait > 0)
    return too_many(wait);
  if (good) return {};
  admin_by_address_.record_failure(remote_address, now);
  return fail(errc::unauthorized, "missing or wrong Admin-Token");
}

void auth_service::authenticate_async(const std::string& app_id, const credentials& c,
                                      const std::optional<std::string>& device_id,
                                      const std::string& remote_address, millis now,
                                      std::function<void(result<authenticated>)> done) {
  auto p = prepare(app_id, c, device_id, remote_address, now);
  if (!p) return done(p.error());
  // The answer is given only once the row is durable (the group commit calls back after it).
  // An access token is checked again inside the batch's transaction (see the store).
  std::optional<std::string> token_hash;
  if (p->session.source == store::session_source::access_token)
    token_hash = p->answer.user.access_token_hash;
  store_.create_session_batched(
      p->session, std::move(token_hash),
      [this, answer = std::move(p->answer), done = std::move(done)](result<void> r) mutable {
        if (!r) return done(r.error());
        metrics_.auth_total.add({"success"});
        done(std::move(answer));
      });
}

result<auth_service::prepared> auth_service::prepare(const std::string& app_id,
                                                     const credentials& c,
                                                     const std::optional<std::string>& device_id,
                                                     const std::string& remote_address,
                                                     millis now) {
  auto count = [&](std::string_view outcome) { metrics_.auth_total.add({std::string(outcome)}); };

  if (auto r = limits::check_device_id(device_id); !r) {
    count("invalid_request");
    return r.error();
  }
  if (!limits::valid_user_id(c.user_id)) {
    count("invalid_request");
    return fail(errc::invalid_request,
                "user_id must be 1 to 128 bytes of letters, digits and . _ @ : + -", "user_id");
  }
  int given = (c.access_token ? 1 : 0) + (c.session_token ? 1 : 0) + (c.jwt ? 1 : 0);
  if (given != 1) {
    count("invalid_request");
    return fail(errc::invalid_request, "give exactly one of access_token, session_token and jwt",
                "access_token");
  }

  // Refuse before looking at the credential: a limited key learns nothing from trying.
  auto user_key = app_id + '\n' + c.user_id;
  if (int wait = retry_after_s(user_key, remote_address, now); wait > 0) {
    count("rate_limited");
    return too_many(wait);
  }

  // The app and the user in one read (the app's record is cached while unchanged).
  auto found = store_.find_app_and_user(app_id, c.user_id);
  if (!found) {
    count(found.error().code == errc::not_found ? "invalid_credentials" : "error");
    if (found.error().code == errc::not_found) return fail(errc::not_found, "app_not_found");
    return found.error();
  }
  bool looked_up = false;
  auto checked = check_credentials(found->app, c, now, [&]() -> result<store::user_record> {
    // The user as read with the app; a second call (the JWT path, after creating the user)
    // reads it again.
    if (looked_up) return store_.find_user(app_id, c.user_id);
    looked_up = true;
    if (found->user) return std::move(*found->user);
    return fail(errc::not_found, "user_not_found");
  });
  if (!checked) return refused(checked.error(), user_key, remote_address, now);

  prepared p;
  auto& out = p.answer;
  auto& s = p.session;
  s.id = store_.new_session_id();
  out.session_key = crypto::new_session_key(s.id);
  s.key_hash = crypto::sha256_hex(out.session_key);
  s.app_id = app_id;
  s.user_id = c.user_id;
  s.source = checked->source;
  s.expires_at = checked->expires_at;
  s.device_id = device_id.value_or("");
  s.created_at = now;
  out.user = std::move(checked->user);
  out.session_expires_at = checked->expires_at;
  out.ice_servers = ice_servers(c.user_id, now);
  return p;
}

result<auth_service::verified_token> auth_service::check_credentials(const store::app_record& app,
                                                                     const credentials& c,
                                                                     millis now,
                                                                     const user_finder& find_user) {
  // One answer for an unknown user and a wrong token, so user ids cannot be enumerated.
  auto wrong = fail(errc::invalid_credentials, "the user id and token do not match");
  if (c.access_token) {
    if (c.access_token->size() > limits::token_bytes) return wrong;
    auto user = find_user();
    if (!user) return user.error().code == errc::not_found ? wrong : user.error();
    if (!user->access_token_hash ||
        !crypto::constant_time_equal(crypto::sha256_hex(*c.access_token), *user->access_token_hash))
      return wrong;
    return verified_token{store::session_source::access_token, std::nullopt, std::move(*user)};
  }
  if (c.session_token) {
    if (c.session_token->size() > limits::token_bytes) return wrong;
    // The lookup is by hash, so the comparison of secrets happens inside the index, never on
    // the plain token.
    auto t = store_.find_session_token(app.app_id, crypto::sha256_hex(*c.session_token));
    if (!t) return t.error().code == errc::not_found ? wrong : t.error();
    if (t->user_id != c.user_id) return wrong;
    if (t->expires_at <= now) return fail(errc::token_expired, "the session token has expired");
    auto user = find_user();
    if (!user) return user.error().code == errc::not_found ? wrong : user.error();
    return verified_token{store::session_source::session_token, t->expires_at, std::move(*user)};
  }
  auto claims = verify_jwt(*c.jwt, app.signing_secret, app.app_id, now);
  if (!claims) return claims.error();
  if (claims->sub != c.user_id)
    return fail(errc::invalid_credentials, "the jwt sub is not user_id");
  // A JWT vouches for the user: one that does not exist yet is created.
  auto existing = find_user();
  if (!existing) {
    if (existing.error().code != errc::not_found) return existing.error();
    store::user_record u;
    u.app_id = app.app_id;
    u.user_id = c.user_id;
    u.created_at = now;
    if (auto r = store_.create_user(u); !r && r.error().code != errc::user_exists) return r.error();
    existing = find_user();
    if (!existing) return existing.error();
  }
  return verified_token{store::session_source::jwt, claims->expires_at, std::move(*existing)};
}

result<session_view> auth_service::verify(std::string_view session_key, millis now) {
  auto unauthorized = fail(errc::unauthorized, "missing or unknown session key");
  if (session_key.empty() || session_key.size() > limits::token_bytes) return unauthorized;
  // A key without an id is one issued before keys carried it (found by its hash alone).
  // The user comes with the session, from the same read.
  store::user_record user;
  auto s = store_.find_session(crypto::session_key_id(session_key).value_or(0),
                               crypto::sha256_hex(session_key), &user);
  if (!s) return s.error().code == errc::not_found ? unauthorized : s.error();
  if (s->expires_at && *s->expires_at <= now)
    return fail(errc::session_expired, "the session has expired");
  return session_view{std::move(*s), std::move(user)};
}

result<void> auth_service::deauthenticate(const store::session_record& s) {
  if (auto r = store_.delete_session(s); !r) return r.error();
  hub_.close_sessions({s.key_hash}, close_code::deauthenticated, "deauthenticated");
  return {};
}

result<millis> auth_service::refresh(store::session_record& s,
                                     const std::optional<std::string>& session_token,
                                     const std::optional<std::string>& jwt,
                                     const std::string& remote_address, millis now) {
  auto count = [&](std::string_view outcome) { metrics_.auth_total.add({std::string(outcome)}); };
  if ((session_token ? 1 : 0) + (jwt ? 1 : 0) != 1) {
    count("invalid_request");
    return fail(errc::invalid_request, "give exactly one of session_token and jwt",
                "session_token");
  }
  // The same limits as authentication: refresh must not be a way round them to guess tokens.
  auto user_key = s.app_id + '\n' + s.user_id;
  if (int wait = retry_after_s(user_key, remote_address, now); wait > 0) {
    count("rate_limited");
    return too_many(wait);
  }
  auto app = store_.find_app(s.app_id);
  if (!app) {
    count("error");
    return app.error();
  }
  credentials c;
  c.user_id = s.user_id;
  c.session_token = session_token;
  c.jwt = jwt;
  auto checked =
      check_credentials(*app, c, now, [&] { return store_.find_user(s.app_id, s.user_id); });
  if (!checked) return refused(checked.error(), user_key, remote_address, now);
  if (auto r = store_.update_session(s, checked->source, checked->expires_at); !r) {
    count("error");
    return r.error();
  }
  count("success");
  s.source = checked->source;
  s.expires_at = checked->expires_at;
  return *checked->expires_at;
}

void auth_service::prune(millis now) {
  by_user_.prune(now);
  by_address_.prune(now);
  admin_by_address_.prune(now);
}

void auth_service::prune_sessions(millis now) {
  // An expired session's key is answered session_expired (not unauthorized) for a day.
  (void)store_.prune_sessions(now - day_ms);  // a failure is logged; the next call retries
}

}  // namespace parley::services
