// parley::call forwards its requests to the client that made it; the future forms wrap the
// callback forms (detail::settle).

#include <parley/call.hpp>

#include "impl/call_impl.hpp"
#include "impl/client_impl.hpp"
#include "impl/settle.hpp"

namespace parley {

namespace {

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

// Sends one request of call `c` through its client; `answer` gets the ack or the error. When the
// client is gone it gets network_error at once, on the calling thread.
void send_request(const std::shared_ptr<call>& c, const detail::call_impl& body, std::string type,
                  detail::json::object fields,
                  std::function<void(result<detail::json::object>)> answer) {
  auto owner = body.owner.lock();
  if (!owner) return answer(error(error_code::network_error, "the client of this call is gone"));
  owner->call_command(c, std::move(type), std::move(fields), std::move(answer));
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
    : impl_(std::make_unique<detail::call_impl>(std::move(owner), std::move(info), outgoing)) {}

call::~call() = default;

std::string call::id() const {
  return impl_->id;
}

call_info call::info() const {
  std::lock_guard lock(impl_->mu);
  return impl_->info;
}

bool call::is_outgoing() const {
  return impl_->outgoing;
}

std::string call::peer_id() const {
  std::lock_guard lock(impl_->mu);
  return impl_->outgoing ? impl_->info.callee_id : impl_->info.caller_id;
}

bool call::ended() const {
  std::lock_guard lock(impl_->mu);
  return impl_->end_result.has_value();
}

std::optional<call_end_result> call::end_result() const {
  std::lock_guard lock(impl_->mu);
  return impl_->end_result;
}

void call::set_listener(std::shared_ptr<call_listener> listener) {
  std::lock_guard lock(impl_->mu);
  impl_->listener = std::move(listener);
}

void call::accept(std::function<void(result<void>)> done) {
  send_request(shared_from_this(), *impl_, "accept", {}, void_answer(std::move(done)));
}

std::future<void> call::accept() {
  return detail::settle<void>([this](auto done) { accept(std::move(done)); });
}

void call::decline(std::function<void(result<void>)> done) {
  send_request(shared_from_this(), *impl_, "decline", {}, void_answer(std::move(done)));
}

std::future<void> call::decline() {
  return detail::settle<void>([this](auto done) { decline(std::move(done)); });
}

void call::end(std::function<void(result<void>)> done) {
  send_request(shared_from_this(), *impl_, "end", {}, void_answer(std::move(done)));
}

std::future<void> call::end() {
  return detail::settle<void>([this](auto done) { end(std::move(done)); });
}

void call::send_signal(std::string data, std::function<void(result<bool>)> done) {
  auto parsed = detail::parse_json(data);
  if (!parsed)
    return done(error(error_code::invalid_request, "signal data is not JSON").with_field("data"));
  send_request(shared_from_this(), *impl_, "signal", {{"data", std::move(*parsed)}},
               delivered_answer(std::move(done)));
}

std::future<bool> call::send_signal(std::string data) {
  return detail::settle<bool>(
      [this, &data](auto done) { send_signal(std::move(data), std::move(done)); });
}

void call::report_media_connected(std::function<void(result<void>)> done) {
  send_request(shared_from_this(), *impl_, "media_connected", {}, void_answer(std::move(done)));
}

std::future<void> call::report_media_connected() {
  return detail::settle<void>([this](auto done) { report_media_connected(std::move(done)); });
}

void call::set_media_state(bool audio, bool video, std::function<void(result<bool>)> done) {
  send_request(shared_from_this(), *impl_, "media_state", {{"audio", audio}, {"video", video}},
               delivered_answer(std::move(done)));
}

std::future<bool> call::set_media_state(bool audio, bool video) {
  return detail::settle<bool>(
      [this, audio, video](auto done) { set_media_state(audio, video, std::move(done)); });
}

}  // namespace parley
