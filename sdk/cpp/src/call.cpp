// parley::call forwards its requests to the client that made it; the future forms wrap the
// callback forms.

#include <parley/call.hpp>

#include "impl/client_impl.hpp"

namespace parley {

namespace {

error client_gone() {
  return error(error_code::network_error, "the client of this call is gone");
}

template <class T>
std::function<void(result<T>)> fulfil(const std::shared_ptr<std::promise<T>>& promise) {
  return [promise](result<T> outcome) {
    if (!outcome) return promise->set_exception(std::make_exception_ptr(outcome.err()));
    if constexpr (std::is_void_v<T>)
      promise->set_value();
    else
      promise->set_value(std::move(outcome).value());
  };
}

template <class T, class F>
std::future<T> as_future(F start) {
  auto promise = std::make_shared<std::promise<T>>();
  auto future = promise->get_future();
  start(fulfil(promise));
  return future;
}

// Turns an ack into what the caller of a call method gets.
std::function<void(result<detail::json::object>)> void_answer(
    std::function<void(result<void>)> done) {
  return [done = std::move(done)](result<detail::json::object> a) {
    if (!a) return done(a.err());
    done({});
  };
}

std::function<void(result<detail::json::object>)> delivered_answer(
    std::function<void(result<bool>)> done) {
  return [done = std::move(done)](result<detail::json::object> a) {
    if (!a) return done(a.err());
    done(detail::get_bool(a.value(), "delivered").value_or(false));
  };
}

}  // namespace

std::string_view to_string(call_end_result r) noexcept {
  switch (r) {
    case call_end_result::completed:
      return "completed";
    case call_end_result::canceled:
      return "canceled";
    case call_end_result::declined:
      return "declined";
    case call_end_result::no_answer:
      return "no_answer";
    case call_end_result::other_device_accepted:
      return "other_device_accepted";
    case call_end_result::timed_out:
      return "timed_out";
    case call_end_result::connection_lost:
      return "connection_lost";
    case call_end_result::unknown:
      return "unknown";
  }
  return "unknown";
}

call_end_result call_end_result_from_string(std::string_view text) noexcept {
  for (auto r : {call_end_result::completed, call_end_result::canceled, call_end_result::declined,
                 call_end_result::no_answer, call_end_result::other_device_accepted,
                 call_end_result::timed_out, call_end_result::connection_lost})
    if (to_string(r) == text) return r;
  return call_end_result::unknown;
}

call::call(std::weak_ptr<detail::client_impl> owner, call_info info, bool outgoing)
    : owner_(std::move(owner)),
      outgoing_(outgoing),
      id_(info.call_id),
      info_(std::move(info)),
      io_(std::make_unique<detail::call_io>()) {}

call::~call() = default;

std::string call::id() const {
  return id_;
}

call_info call::info() const {
  std::lock_guard lock(mu_);
  return info_;
}

bool call::is_outgoing() const {
  return outgoing_;
}

std::string call::peer_id() const {
  std::lock_guard lock(mu_);
  return outgoing_ ? info_.callee_id : info_.caller_id;
}

bool call::ended() const {
  std::lock_guard lock(mu_);
  return end_result_.has_value();
}

std::optional<call_end_result> call::end_result() const {
  std::lock_guard lock(mu_);
  return end_result_;
}

void call::set_listener(std::shared_ptr<call_listener> listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

void call::accept(std::function<void(result<void>)> done) {
  auto owner = owner_.lock();
  if (!owner) return done(client_gone());
  owner->call_command(shared_from_this(), "accept", {}, void_answer(std::move(done)));
}

std::future<void> call::accept() {
  return as_future<void>([this](auto done) { accept(std::move(done)); });
}

void call::decline(std::function<void(result<void>)> done) {
  auto owner = owner_.lock();
  if (!owner) return done(client_gone());
  owner->call_command(shared_from_this(), "decline", {}, void_answer(std::move(done)));
}

std::future<void> call::decline() {
  return as_future<void>([this](auto done) { decline(std::move(done)); });
}

void call::end(std::function<void(result<void>)> done) {
  auto owner = owner_.lock();
  if (!owner) return done(client_gone());
  owner->call_command(shared_from_this(), "end", {}, void_answer(std::move(done)));
}

std::future<void> call::end() {
  return as_future<void>([this](auto done) { end(std::move(done)); });
}

void call::send_signal(std::string data, std::function<void(result<bool>)> done) {
  auto parsed = detail::parse_json(data);
  if (!parsed)
    return done(error(error_code::invalid_request, "signal data is not JSON").with_field("data"));
  auto owner = owner_.lock();
  if (!owner) return done(client_gone());
  owner->call_command(shared_from_this(), "signal", {{"data", std::move(*parsed)}},
                      delivered_answer(std::move(done)));
}

std::future<bool> call::send_signal(std::string data) {
  return as_future<bool>(
      [this, &data](auto done) { send_signal(std::move(data), std::move(done)); });
}

void call::report_media_connected(std::function<void(result<void>)> done) {
  auto owner = owner_.lock();
  if (!owner) return done(client_gone());
  owner->call_command(shared_from_this(), "media_connected", {}, void_answer(std::move(done)));
}

std::future<void> call::report_media_connected() {
  return as_future<void>([this](auto done) { report_media_connected(std::move(done)); });
}

void call::set_media_state(bool audio, bool video, std::function<void(result<bool>)> done) {
  auto owner = owner_.lock();
  if (!owner) return done(client_gone());
  owner->call_command(shared_from_this(), "media_state", {{"audio", audio}, {"video", video}},
                      delivered_answer(std::move(done)));
}

std::future<bool> call::set_media_state(bool audio, bool video) {
  return as_future<bool>(
      [this, audio, video](auto done) { set_media_state(audio, video, std::move(done)); });
}

}  // namespace parley
