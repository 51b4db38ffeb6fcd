// The protocol's objects byte for byte (docs/protocol.md): the call object, the copy a callee's
// other devices get, the user object and a webhook delivery. Their enum names come from the one
// mapping per enum (common/enum_names.hpp); these texts are what the server sent before.
#include "api/json_codec.hpp"

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

namespace parley::api {
namespace {

using boost::json::serialize;

store::call_record ended_call() {
  store::call_record c;
  c.call_id = "11111111-1111-4111-8111-111111111111";
  c.app_id = "app";
  c.caller_id = "alice";
  c.callee_id = "bob";
  c.is_video = true;
  c.state = store::call_state::ended;
  c.created_at = 1000;
  c.accepted_at = 2000;
  c.connected_at = 3000;
  c.ended_at = 63000;
  c.result = store::end_result::completed;
  c.ended_by = "alice";
  c.custom_items = {{"k", "v"}};
  return c;
}

TEST(json_objects, an_ended_call_names_its_state_and_result) {
  EXPECT_EQ(serialize(to_json(ended_call())),
            R"({"call_id":"11111111-1111-4111-8111-111111111111","caller_id":"alice",)"
            R"("callee_id":"bob","is_video":true,"state":"ended","created_at":1000,)"
            R"("accepted_at":2000,"connected_at":3000,"ended_at":63000,)"
            R"("end_result":"completed","ended_by":"alice","duration_ms":60000,)"
            R"("custom_items":{"k":"v"}})");
}

TEST(json_objects, a_ringing_call_has_no_end_result) {
  store::call_record c;
  c.call_id = "c";
  c.caller_id = "alice";
  c.callee_id = "bob";
  c.created_at = 5;
  EXPECT_EQ(serialize(to_json(c)),
            R"({"call_id":"c","caller_id":"alice","callee_id":"bob","is_video":false,)"
            R"("state":"ringing","created_at":5,"accepted_at":null,"connected_at":null,)"
            R"("ended_at":null,"end_result":null,"ended_by":null,"duration_ms":0,)"
            R"("custom_items":{}})");
}

TEST(json_objects, every_end_result_goes_out_by_its_protocol_name) {
  auto c = ended_call();
  for (auto [r, name] : {std::pair{store::end_result::completed, "completed"},
                         {store::end_result::canceled, "canceled"},
                         {store::end_result::declined, "declined"},
                         {store::end_result::no_answer, "no_answer"},
                         {store::end_result::timed_out, "timed_out"},
                         {store::end_result::connection_lost, "connection_lost"},
                         {store::end_result::unknown, "unknown"}}) {
    c.result = r;
    EXPECT_EQ(to_json(c).at("end_result"), name);
  }
}

TEST(json_objects, the_other_devices_copy_says_other_device_accepted) {
  auto c = ended_call();
  c.state = store::call_state::accepted;
  c.connected_at.reset();
  c.ended_at.reset();
  c.result = store::end_result::none;
  c.ended_by.reset();
  EXPECT_EQ(serialize(to_json(c, true)),
            R"({"call_id":"11111111-1111-4111-8111-111111111111","caller_id":"alice",)"
            R"("callee_id":"bob","is_video":true,"state":"ended","created_at":1000,)"
            R"("accepted_at":2000,"connected_at":null,"ended_at":2000,)"
            R"("end_result":"other_device_accepted","ended_by":"bob","duration_ms":0,)"
            R"("custom_items":{"k":"v"}})");
}

TEST(json_objects, a_user_says_whether_it_has_an_access_token_never_the_hash) {
  store::user_record r;
  r.app_id = "app";
  r.user_id = "alice";
  r.nickname = "Alice";
  r.metadata = {{"a", "b"}};
  r.created_at = 7;
  EXPECT_EQ(serialize(to_json(r)),
            R"({"user_id":"alice","nickname":"Alice","profile_url":"","metadata":{"a":"b"},)"
            R"("created_at":7,"has_access_token":false})");
  r.access_token_hash = std::string(64, 'f');
  auto with_token = serialize(to_json(r));
  EXPECT_NE(with_token.find(R"("has_access_token":true)"), std::string::npos);
  EXPECT_EQ(with_token.find("fff"), std::string::npos);

  auto u = services::user_of(store::user_record{});
  EXPECT_FALSE(u.has_access_token);
  u.has_access_token = true;
  EXPECT_EQ(to_json(u).at("has_access_token"), true);
}

TEST(json_objects, a_delivery_names_its_state) {
  store::outbox_entry e;
  e.event_id = "e1";
  e.event = "direct_call.end";
  e.attempts = 2;
  e.created_at = 10;
  e.next_attempt_at = 20;
  e.state = store::delivery_state::pending;
  EXPECT_EQ(serialize(delivery_json(e)),
            R"({"event_id":"e1","event":"direct_call.end","state":"pending","attempts":2,)"
            R"("created_at":10,"next_attempt_at":20,"last_status":null,"last_error":null})");
  e.state = store::delivery_state::delivered;
  e.last_status = 200;
  EXPECT_EQ(serialize(delivery_json(e)),
            R"({"event_id":"e1","event":"direct_call.end","state":"delivered","attempts":2,)"
            R"("created_at":10,"next_attempt_at":null,"last_status":200,"last_error":null})");
  e.state = store::delivery_state::failed;
  e.last_error = "HTTP 500";
  EXPECT_EQ(delivery_json(e).at("state"), "failed");
}

}  // namespace
}  // namespace parley::api
