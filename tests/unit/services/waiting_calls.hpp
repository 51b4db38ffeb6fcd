#pragma once
// The call service's requests, each waited for: the service answers after the group commit, on
// a thread of the store's, and the tests read the answer on theirs.

#include "services/call_service.hpp"

#include <future>
#include <string>
#include <utility>
#include <vector>

namespace parley::testing {

class waiting_calls {
 public:
  explicit waiting_calls(services::call_service& s) : s_(s) {}

  services::call_service& service() { return s_; }

  result<store::call_record> dial(const services::caller_context& from,
                                  const services::dial_request& req, millis now) {
    return wait<result<store::call_record>>([&](auto cb) { s_.dial(from, req, now, cb); });
  }
  result<store::call_record> accept(const services::caller_context& from,
                                    const std::string& call_id, millis now) {
    return wait<result<store::call_record>>([&](auto cb) { s_.accept(from, call_id, now, cb); });
  }
  result<store::call_record> decline(const services::caller_context& from,
                                     const std::string& call_id, millis now) {
    return wait<result<store::call_record>>([&](auto cb) { s_.decline(from, call_id, now, cb); });
  }
  result<store::call_record> end(const services::caller_context& from, const std::string& call_id,
                                 millis now) {
    return wait<result<store::call_record>>([&](auto cb) { s_.end(from, call_id, now, cb); });
  }
  result<store::call_record> media_connected(const services::caller_context& from,
                                             const std::string& call_id, millis now) {
    return wait<result<store::call_record>>(
        [&](auto cb) { s_.media_connected(from, call_id, now, cb); });
  }
  result<std::vector<store::call_record>> connection_opened(const services::caller_context& who,
                                                            millis now) {
    return wait<result<std::vector<store::call_record>>>(
        [&](auto cb) { s_.connection_opened(who, now, cb); });
  }
  int connection_closed(const std::string& connection_id, millis now) {
    return wait<int>([&](auto cb) { s_.connection_closed(connection_id, now, cb); });
  }
  int user_removed(const std::string& app_id, const std::string& user_id, millis now) {
    return wait<int>([&](auto cb) { s_.user_removed(app_id, user_id, now, cb); });
  }
  int fire_timers(millis now) {
    return wait<int>([&](auto cb) { s_.fire_timers(now, cb); });
  }
  int recover(millis now) {
    return wait<int>([&](auto cb) { s_.recover(now, cb); });
  }

  void record_alive(millis now) { s_.record_alive(now); }
  auto relay(const services::caller_context& from, const std::string& call_id) {
    return s_.relay(from, call_id);
  }
  auto find(const std::string& app_id, const std::string& call_id) {
    return s_.find(app_id, call_id);
  }
  auto list(const std::string& app_id, const std::string& user_id, int limit,
            const std::string& cursor) {
    return s_.list(app_id, user_id, limit, cursor);
  }
  auto usage(const std::string& app_id, const std::string& from, const std::string& to) {
    return s_.usage(app_id, from, to);
  }

 private:
  template <class T, class Start>
  static T wait(Start&& start) {
    auto answered = std::make_shared<std::promise<T>>();
    auto answer = answered->get_future();
    start([answered](T r) { answered->set_value(std::move(r)); });
    return answer.get();
  }

  services::call_service& s_;
};

}  // namespace parley::testing
