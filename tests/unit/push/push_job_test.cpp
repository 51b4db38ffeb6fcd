#include "services/push/push_job.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

namespace parley::services::push {
namespace {

// A payload exactly as the server wrote it before the codec existed (api/outbox_events built the
// object key by key): rows like it may sit in a database being upgraded.
constexpr const char* stored_row =
    R"({"user_id":"bob","call_id":"c1","token_type":"apns_voip","token":"a1b2","is_video":true,)"
    R"("title":"Alice","parley":"{\"type\":\"incoming_call\",\"call_id\":\"c1\"}"})";

push_job bobs_job() {
  return {"bob",
          "c1",
          "apns_voip",
          "a1b2",
          true,
          "Alice",
          R"({"type":"incoming_call","call_id":"c1"})"};
}

bool same(const push_job& a, const push_job& b) {
  return a.user_id == b.user_id && a.call_id == b.call_id && a.token_type == b.token_type &&
         a.token == b.token && a.is_video == b.is_video && a.title == b.title &&
         a.parley_json == b.parley_json;
}

TEST(push_job, encodes_byte_for_byte_as_rows_were_stored) {
  EXPECT_EQ(encode_push_job(bobs_job()), stored_row);
}

TEST(push_job, a_stored_row_decodes) {
  auto job = decode_push_job(stored_row);
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->user_id, "bob");
  EXPECT_EQ(job->call_id, "c1");
  EXPECT_EQ(job->token_type, "apns_voip");
  EXPECT_EQ(job->token, "a1b2");
  EXPECT_TRUE(job->is_video);
  EXPECT_EQ(job->title, "Alice");
  EXPECT_EQ(job->parley_json, R"({"type":"incoming_call","call_id":"c1"})");
}

TEST(push_job, round_trips_through_the_payload_and_through_boost_json) {
  push_job cancel{"u", "c2", "fcm", "t:APA91b", false, "", R"({"type":"call_cancel"})"};
  auto back = decode_push_job(encode_push_job(cancel));
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(same(*back, cancel));
  EXPECT_TRUE(same(boost::json::value_to<push_job>(boost::json::value_from(cancel)), cancel));
}

TEST(push_job, missing_or_mistyped_keys_read_as_empty) {
  auto job = decode_push_job(R"({"token":"t","is_video":"yes","title":7,"extra":1})");
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->token, "t");
  EXPECT_EQ(job->user_id, "");
  EXPECT_EQ(job->token_type, "");
  EXPECT_FALSE(job->is_video);
  EXPECT_EQ(job->title, "");
  EXPECT_EQ(job->parley_json, "");
}

TEST(push_job, a_payload_that_is_not_a_json_object_does_not_decode) {
  EXPECT_FALSE(decode_push_job("").has_value());
  EXPECT_FALSE(decode_push_job("not json").has_value());
  EXPECT_FALSE(decode_push_job("[1,2]").has_value());
  EXPECT_FALSE(decode_push_job(R"("a string")").has_value());
  EXPECT_ANY_THROW(boost::json::value_to<push_job>(boost::json::parse("[1]")));
}

}  // namespace
}  // namespace parley::services::push
