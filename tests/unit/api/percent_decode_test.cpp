// api::percent_decode, which the router (path segments, query keys and values) and the static
// files (the whole path, once) rely on: which texts it refuses and what it gives back.

#include "api/router.hpp"

#include <gtest/gtest.h>

#include <string>

namespace parley::api {
namespace {

TEST(percent_decode, decodes_escapes_in_either_case_and_keeps_every_other_byte) {
  EXPECT_EQ(percent_decode(""), "");
  EXPECT_EQ(percent_decode("plain-text_~."), "plain-text_~.");
  EXPECT_EQ(percent_decode("a%2Bb%40example.com"), "a+b@example.com");
  EXPECT_EQ(percent_decode("%2f%2F%e2%82%AC"), "//\xe2\x82\xac");
  // '+' is not a space (that is form encoding, not the URL's), and nothing outside an escape is
  // checked against the URL grammar: the callers judge the bytes.
  EXPECT_EQ(percent_decode("a+b c"), "a+b c");
  EXPECT_EQ(percent_decode("\\..\x01\xff"), "\\..\x01\xff");
  EXPECT_EQ(percent_decode("%00"), std::string(1, '\0'));
  // Once: an escaped escape stays an escape.
  EXPECT_EQ(percent_decode("%252e%252E"), "%2e%2E");
}

TEST(percent_decode, refuses_a_percent_without_two_hex_digits) {
  for (const char* bad : {"%", "%%", "%4", "a%", "a%4", "%4g", "%g4", "%%41", "%41%", "%41%4",
                          "x%zzy", "%-1", "% 41"})
    EXPECT_FALSE(percent_decode(bad).has_value()) << bad;
}

}  // namespace
}  // namespace parley::api
