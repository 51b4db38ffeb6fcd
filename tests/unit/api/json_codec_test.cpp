// Regression tests for what fuzz_json_codec found: a number beyond a double's range parsed as
// infinity, which Boost.JSON serializes as `Infinity` (not JSON), so a `signal` relayed it to
// the peer as a frame no JSON parser accepts.
#include "api/json_codec.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace parley::api {
namespace {

TEST(json_codec, number_beyond_double_range_is_invalid_request) {
  for (const char* text : {R"({"a":1e400})", R"({"data":{"x":[1,-1e999]}})",
                           R"({"type":"signal","req_id":"1","data":{"sdp":1e309}})"}) {
    auto r = parse_object(text);
    ASSERT_FALSE(r) << text << " was accepted";
    EXPECT_EQ(r.error().code, errc::invalid_request) << text;
  }
}

TEST(json_codec, accepted_objects_serialize_to_json_that_parses_back_equal) {
  for (const char* text : {R"({"a":1.7976931348623157e308,"b":-0,"c":18446744073709551616})",
                           R"({"data":{"candidate":"a=1","n":[1e-400,2.5]}})"}) {
    auto r = parse_object(text);
    ASSERT_TRUE(r) << text << ": " << r.error().message;
    boost::system::error_code ec;
    auto again = boost::json::parse(boost::json::serialize(*r), ec);
    ASSERT_FALSE(ec) << boost::json::serialize(*r);
    EXPECT_EQ(again, boost::json::value(*r));
  }
}

}  // namespace
}  // namespace parley::api
