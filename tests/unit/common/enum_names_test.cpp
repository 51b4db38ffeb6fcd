// The one enum <-> string mapping of every named enum: each name pinned as it is on the wire, in
// stored JSON and in logs (docs/protocol.md), every name read back to its enumerator, and any
// other string refused.
#include "common/enum_names.hpp"
#include "services/call_machine.hpp"
#include "services/push/push_types.hpp"
#include "store/call_record.hpp"
#include "store/records.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace parley {
namespace {

template <class E>
using pairs = std::vector<std::pair<E, std::string>>;

// Exactly `expected`, in declaration order, both ways.
template <class E>
void expect_names(const pairs<E>& expected) {
  const auto& table = name_table<E>;
  ASSERT_EQ(table.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& [value, name] = expected[i];
    EXPECT_EQ(table[i].first, value) << name;
    EXPECT_EQ(to_string(value), name);
    EXPECT_EQ(from_string<E>(name), value) << name;
  }
}

TEST(enum_names, call_state_names_are_the_protocols) {
  using store::call_state;
  expect_names<call_state>({{call_state::ringing, "ringing"},
                            {call_state::accepted, "accepted"},
                            {call_state::connected, "connected"},
                            {call_state::ended, "ended"}});
}

TEST(enum_names, end_result_names_are_the_protocols_and_none_is_empty) {
  using store::end_result;
  expect_names<end_result>({{end_result::none, ""},
                            {end_result::completed, "completed"},
                            {end_result::canceled, "canceled"},
                            {end_result::declined, "declined"},
                            {end_result::no_answer, "no_answer"},
                            {end_result::timed_out, "timed_out"},
                            {end_result::connection_lost, "connection_lost"},
                            {end_result::unknown, "unknown"}});
  // Only the other devices' copy of an accepted call says this; it is no stored result.
  EXPECT_EQ(from_string<end_result>("other_device_accepted"), std::nullopt);
}

TEST(enum_names, stored_enums_keep_their_integer_values) {
  // The SQLite store keeps these as integers: a renumbering would misread every old row.
  using store::call_state;
  using store::delivery_state;
  using store::end_result;
  EXPECT_EQ(static_cast<int>(call_state::ringing), 0);
  EXPECT_EQ(static_cast<int>(call_state::ended), 3);
  EXPECT_EQ(static_cast<int>(end_result::none), 0);
  EXPECT_EQ(static_cast<int>(end_result::no_answer), 4);
  EXPECT_EQ(static_cast<int>(end_result::timed_out), 6);
  EXPECT_EQ(static_cast<int>(end_result::connection_lost), 7);
  EXPECT_EQ(static_cast<int>(end_result::unknown), 8);
  EXPECT_EQ(static_cast<int>(delivery_state::pending), 0);
  EXPECT_EQ(static_cast<int>(delivery_state::failed), 2);
}

TEST(enum_names, delivery_state_names_are_the_apis) {
  using store::delivery_state;
  expect_names<delivery_state>({{delivery_state::pending, "pending"},
                                {delivery_state::delivered, "delivered"},
                                {delivery_state::failed, "failed"}});
}

TEST(enum_names, push_token_type_names_are_the_protocols) {
  using services::push::token_type;
  expect_names<token_type>(
      {{token_type::apns, "apns"}, {token_type::apns_voip, "apns_voip"}, {token_type::fcm, "fcm"}});
}

TEST(enum_names, call_effect_names_are_the_wire_events) {
  using services::calls::effect_type;
  expect_names<effect_type>({{effect_type::ringing, "ringing"},
                             {effect_type::accepted, "accepted"},
                             {effect_type::connected, "connected"},
                             {effect_type::ended, "ended"},
                             {effect_type::peer_reconnecting, "peer_reconnecting"},
                             {effect_type::peer_reconnected, "peer_reconnected"}});
}

TEST(enum_names, any_other_string_is_refused) {
  using services::push::token_type;
  for (const char* s : {"", "APNS", "Apns", "apns ", " apns", "voip", "apns_voip\n", "gcm"})
    EXPECT_EQ(from_string<token_type>(s), std::nullopt) << '"' << s << '"';
  for (const char* s : {"", "Pending", "all", "delivered,failed"})
    EXPECT_EQ(from_string<store::delivery_state>(s), std::nullopt) << '"' << s << '"';
  EXPECT_EQ(from_string<store::call_state>("none"), std::nullopt);
  EXPECT_EQ(from_string<store::end_result>("none"), std::nullopt);
}

TEST(enum_names, a_value_outside_the_enum_has_no_name) {
  EXPECT_EQ(to_string(static_cast<store::call_state>(42)), "");
  EXPECT_EQ(to_string(static_cast<services::push::token_type>(42)), "");
}

}  // namespace
}  // namespace parley
