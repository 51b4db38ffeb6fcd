#include "services/outbox_worker.hpp"

#include "common/crypto.hpp"

#include <gtest/gtest.h>

namespace parley::services {
namespace {

TEST(outbox_worker, signature_is_hmac_of_timestamp_dot_body) {
  auto sig = parley_signature("whsec_x", 1700000000, R"({"a":1})");
  EXPECT_EQ(sig, "t=1700000000,v1=" +
                     crypto::hex(crypto::hmac_sha256("whsec_x", R"(1700000000.{"a":1})")));
  EXPECT_NE(sig, parley_signature("whsec_y", 1700000000, R"({"a":1})"));
  EXPECT_NE(sig, parley_signature("whsec_x", 1700000001, R"({"a":1})"));
}

TEST(outbox_worker, retry_delay_doubles_from_one_second_up_to_five_minutes) {
  EXPECT_EQ(retry_delay_ms(1), 1000);
  EXPECT_EQ(retry_delay_ms(2), 2000);
  EXPECT_EQ(retry_delay_ms(3), 4000);
  EXPECT_EQ(retry_delay_ms(9), 256'000);
  EXPECT_EQ(retry_delay_ms(10), 300'000);
  EXPECT_EQ(retry_delay_ms(1000), 300'000);
}

}  // namespace
}  // namespace parley::services
