#include "common/crypto.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <set>
#include <string>
#include <vector>

namespace parley::crypto {
namespace {

TEST(crypto, sha256_matches_known_vector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(crypto, hmac_sha256_matches_rfc4231_case_2) {
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(crypto, hmac_sha1_matches_rfc2202_case_2) {
  EXPECT_EQ(hex(hmac_sha1("Jefe", "what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

TEST(crypto, base64_pads_and_base64url_does_not) {
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64url("\xfb\xff"), "-_8");
  EXPECT_EQ(base64(std::string("\xfb\xff")), "+/8=");
}

TEST(crypto, base64url_round_trips_and_rejects_bad_alphabet) {
  for (std::size_t n = 0; n < 40; ++n) {
    auto bytes = random_bytes(n);
    auto back = base64url_decode(base64url(bytes));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, bytes);
  }
  EXPECT_FALSE(base64url_decode("ab+c").has_value());
  EXPECT_FALSE(base64url_decode("a").has_value());
}

TEST(crypto, secrets_have_256_bits_and_differ) {
  auto a = new_secret(), b = new_secret();
  EXPECT_EQ(a.size(), 43u);
  EXPECT_NE(a, b);
  EXPECT_EQ(base64url_decode(a)->size(), 32u);
}

TEST(crypto, a_session_key_carries_its_id_and_256_random_bits) {
  for (std::int64_t id : {std::int64_t{1}, std::int64_t{255}, std::int64_t{1} << 40,
                          std::numeric_limits<std::int64_t>::max()}) {
    auto a = new_session_key(id), b = new_session_key(id);
    EXPECT_EQ(a.size(), 54u);
    EXPECT_NE(a, b);
    EXPECT_EQ(base64url_decode(a)->size(), 40u);
    EXPECT_EQ(session_key_id(a), id);
  }
  EXPECT_FALSE(session_key_id(new_secret()).has_value());  // a key from before: no id
  EXPECT_FALSE(session_key_id(std::string(54, '!')).has_value());
  EXPECT_FALSE(session_key_id(base64url(std::string(40, '\0'))).has_value());    // id 0
  EXPECT_FALSE(session_key_id(base64url(std::string(40, '\xff'))).has_value());  // negative
  EXPECT_FALSE(session_key_id("").has_value());
}

TEST(crypto, uuid_v4_is_lowercase_version_4) {
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(is_uuid_v4(uuid_v4()));
  EXPECT_FALSE(is_uuid_v4("7208C82D-0304-4ae7-84ce-b31fa1580393"));
  EXPECT_FALSE(is_uuid_v4("7208c82d-0304-1ae7-84ce-b31fa1580393"));
  EXPECT_FALSE(is_uuid_v4("7208c82d03044ae784ceb31fa1580393"));
}

TEST(crypto, uuid_v4_sets_only_the_version_and_variant_bits) {
  // Across 256 UUIDs every hex digit outside the fixed ones takes more than one value, and the
  // variant digit takes only 8, 9, a or b: random where it should be, fixed where RFC 4122 says.
  std::set<std::string> seen;
  std::vector<std::set<char>> digits(36);
  for (int i = 0; i < 256; ++i) {
    auto id = uuid_v4();
    ASSERT_TRUE(is_uuid_v4(id)) << id;
    seen.insert(id);
    for (std::size_t k = 0; k < id.size(); ++k) digits[k].insert(id[k]);
  }
  EXPECT_EQ(seen.size(), 256u);
  for (std::size_t k = 0; k < digits.size(); ++k) {
    if (k == 8 || k == 13 || k == 18 || k == 23 || k == 14) {
      EXPECT_EQ(digits[k].size(), 1u) << k;
    } else if (k == 19) {
      EXPECT_EQ(digits[k], (std::set<char>{'8', '9', 'a', 'b'}));
    } else {
      EXPECT_GT(digits[k].size(), 1u) << k;
    }
  }
}

TEST(crypto, constant_time_equal_compares_whole_strings) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

}  // namespace
}  // namespace parley::crypto
