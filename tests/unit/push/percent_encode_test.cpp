// push::percent_encode, which puts device tokens and project ids into URL paths and form bodies:
// exactly RFC 3986's unreserved bytes pass, every other byte becomes %XX in upper case.

#include "services/push/push_types.hpp"

#include <gtest/gtest.h>

#include <string>

namespace parley::services::push {
namespace {

TEST(percent_encode, escapes_every_byte_outside_the_unreserved_set_in_upper_case) {
  static constexpr char digits[] = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    auto c = static_cast<unsigned char>(b);
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    std::string expected = unreserved ? std::string(1, static_cast<char>(c))
                                      : std::string{'%', digits[c >> 4], digits[c & 15]};
    EXPECT_EQ(percent_encode(std::string(1, static_cast<char>(c))), expected) << b;
  }
  EXPECT_EQ(percent_encode("a b+c/%"), "a%20b%2Bc%2F%25");
  EXPECT_EQ(percent_encode(""), "");
}

}  // namespace
}  // namespace parley::services::push
