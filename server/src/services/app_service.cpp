#include "services/app_service.hpp"

#include "common/crypto.hpp"
#include "services/limits.hpp"

namespace parley::services {

result<new_app> app_service::create(const std::string& name, millis now) {
  if (name.empty() || name.size() > limits::app_name_bytes)
    return fail(errc::invalid_request, "name must be 1 to 128 bytes", "name");
  new_app out{crypto::uuid_v4(), name, crypto::new_secret(), crypto::new_secret(), now};
  store::app_record rec;
  rec.app_id = out.app_id;
  rec.name = name;
  rec.api_token_hash = crypto::sha256_hex(out.api_token);
  rec.signing_secret = out.signing_secret;
  rec.created_at = now;
  if (auto r = store_.create_app(rec); !r) return r.error();
  return out;
}

result<std::vector<store::app_record>> app_service::list() {
  return store_.list_apps();
}

result<std::string> app_service::rotate_token(const std::string& app_id) {
  auto token = crypto::new_secret();
  if (auto r = store_.set_app_token_hash(app_id, crypto::sha256_hex(token)); !r) return r.error();
  return token;
}

result<void> app_service::remove(const std::string& app_id) {
  auto ended = store_.delete_app(app_id);
  if (!ended) return ended.error();
  if (hub_) hub_->close_app(app_id, close_code::session_invalid, "app deleted");
  return {};
}

result<store::app_record> app_service::authorize(const std::string& app_id,
                                                 std::string_view api_token) {
  auto unauthorized = fail(errc::unauthorized, "missing or wrong Api-Token");
  if (api_token.empty() || api_token.size() > limits::token_bytes) return unauthorized;
  auto app = store_.find_app(app_id);
  if (!app) {
    if (app.error().code == errc::not_found) return unauthorized;
    return app.error();
  }
  if (!crypto::constant_time_equal(crypto::sha256_hex(api_token), app->api_token_hash))
    return unauthorized;
  return app;
}

}  // namespace parley::services
