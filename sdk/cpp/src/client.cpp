// parley::client forwards to detail::client_impl; the future forms wrap the callback forms
// (detail::settle).

#include <parley/client.hpp>

#include "impl/client_impl.hpp"
#include "impl/settle.hpp"

namespace parley {

client::client() : impl_(std::make_shared<detail::client_impl>()) {}

client::~client() {
  impl_->shutdown();
}

void client::init(std::string app_id, client_options options) {
  impl_->init(std::move(app_id), std::move(options));
}

void client::authenticate(auth_params params, std::function<void(result<user>)> done) {
  impl_->authenticate(std::move(params), std::move(done));
}

std::future<user> client::authenticate(auth_params params) {
  return detail::settle<user>([&](auto done) { authenticate(std::move(params), std::move(done)); });
}

void client::connect_websocket(std::function<void(result<void>)> done) {
  impl_->connect_websocket(std::move(done));
}

std::future<void> client::connect_websocket() {
  return detail::settle<void>([this](auto done) { connect_websocket(std::move(done)); });
}

void client::disconnect_websocket() {
  impl_->disconnect_websocket();
}

void client::deauthenticate(std::function<void(result<void>)> done) {
  impl_->deauthenticate({}, std::move(done));
}

std::future<void> client::deauthenticate() {
  return deauthenticate(deauth_options{});
}

void client::deauthenticate(deauth_options options, std::function<void(result<void>)> done) {
  impl_->deauthenticate(options, std::move(done));
}

std::future<void> client::deauthenticate(deauth_options options) {
  return detail::settle<void>([&](auto done) { deauthenticate(options, std::move(done)); });
}

void client::register_push_token(std::string token, push_token_type type,
                                 std::function<void(result<void>)> done) {
  impl_->push_token(true, std::move(token), type, std::move(done));
}

std::future<void> client::register_push_token(std::string token, push_token_type type) {
  return detail::settle<void>(
      [&](auto done) { register_push_token(std::move(token), type, std::move(done)); });
}

void client::unregister_push_token(std::string token, push_token_type type,
                                   std::function<void(result<void>)> done) {
  impl_->push_token(false, std::move(token), type, std::move(done));
}

std::future<void> client::unregister_push_token(std::string token, push_token_type type) {
  return detail::settle<void>(
      [&](auto done) { unregister_push_token(std::move(token), type, std::move(done)); });
}

void client::unregister_all_push_tokens(push_token_type type,
                                        std::function<void(result<void>)> done) {
  impl_->push_token(false, std::nullopt, type, std::move(done));
}

std::future<void> client::unregister_all_push_tokens(push_token_type type) {
  return detail::settle<void>(
      [&](auto done) { unregister_all_push_tokens(type, std::move(done)); });
}

result<std::shared_ptr<call>> client::handle_push_payload(std::string_view payload) {
  return impl_->handle_push_payload(payload);
}

void client::handle_push_payload(std::string_view payload,
                                 std::function<void(result<std::shared_ptr<call>>)> done) {
  impl_->handle_push_payload(std::string(payload), std::move(done));
}

std::uint64_t client::add_connection_listener(std::shared_ptr<connection_listener> listener) {
  return impl_->add_connection_listener(std::move(listener));
}

void client::remove_connection_listener(std::uint64_t id) {
  impl_->remove_connection_listener(id);
}

void client::set_session_handler(std::shared_ptr<session_handler> handler) {
  impl_->set_session_handler(std::move(handler));
}

void client::dial(dial_params params, std::function<void(result<std::shared_ptr<call>>)> done) {
  impl_->dial(std::move(params), std::move(done));
}

std::future<std::shared_ptr<call>> client::dial(dial_params params) {
  return detail::settle<std::shared_ptr<call>>(
      [&](auto done) { dial(std::move(params), std::move(done)); });
}

std::uint64_t client::add_incoming_call_listener(std::shared_ptr<incoming_call_listener> listener) {
  return impl_->add_incoming_call_listener(std::move(listener));
}

void client::remove_incoming_call_listener(std::uint64_t id) {
  impl_->remove_incoming_call_listener(id);
}

void client::set_media_engine_factory(media_engine_factory factory) {
  impl_->set_media_engine_factory(std::move(factory));
}

std::vector<std::shared_ptr<call>> client::ongoing_calls() const {
  return impl_->ongoing_calls();
}

void client::call_log(call_log_query query, std::function<void(result<call_log_page>)> done) {
  impl_->call_log(std::move(query), std::move(done));
}

std::future<call_log_page> client::call_log(call_log_query query) {
  return detail::settle<call_log_page>(
      [&](auto done) { call_log(std::move(query), std::move(done)); });
}

bool client::initialized() const {
  return impl_->initialized();
}
std::string client::app_id() const {
  return impl_->app_id();
}
std::string client::device_id() const {
  return impl_->device_id();
}
std::optional<user> client::current_user() const {
  return impl_->current_user();
}
std::optional<std::string> client::session_key() const {
  return impl_->session_key();
}
std::optional<std::int64_t> client::session_expires_at() const {
  return impl_->session_expires_at();
}
std::vector<ice_server> client::ice_servers() const {
  return impl_->ice_servers();
}
std::vector<call_info> client::cached_calls() const {
  return impl_->cached_calls();
}
connection_state client::state() const {
  return impl_->state();
}

}  // namespace parley
