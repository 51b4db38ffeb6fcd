#include "services/limits.hpp"

#include <gtest/gtest.h>

namespace parley::limits {
namespace {

TEST(limits, user_ids_follow_the_protocol_pattern) {
  EXPECT_TRUE(valid_user_id("alice"));
  EXPECT_TRUE(valid_user_id("a.b_c@d:e+f-g"));
  EXPECT_TRUE(valid_user_id(std::string(128, 'x')));
  EXPECT_FALSE(valid_user_id(""));
  EXPECT_FALSE(valid_user_id(std::string(129, 'x')));
  EXPECT_FALSE(valid_user_id("has space"));
  EXPECT_FALSE(valid_user_id("slash/"));
  EXPECT_FALSE(valid_user_id("caf\xc3\xa9"));
}

TEST(limits, push_types_are_the_three_of_the_protocol) {
  EXPECT_TRUE(valid_push_type("apns_voip"));
  EXPECT_TRUE(valid_push_type("apns"));
  EXPECT_TRUE(valid_push_type("fcm"));
  EXPECT_FALSE(valid_push_type("gcm"));
  EXPECT_FALSE(valid_push_type(""));
}

}  // namespace
TEST(limits, a_device_id_is_absent_or_not_empty) {
  EXPECT_TRUE(check_device_id(std::nullopt));
  EXPECT_TRUE(check_device_id(std::string("phone-1")));
  auto empty = check_device_id(std::string());
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, errc::invalid_request);
  EXPECT_EQ(empty.error().field, "device_id");
}

}  // namespace parley::limits
