#pragma once
// The JSON columns of a store: an app's settings and a string map (user metadata, a call's custom
// items), as Boost.JSON conversions (value_from / value_to). Every store implementation keeps
// them in this form, so a database written by one reads the same in another.
//
// Reading is lenient, as the stored text may come from an older server: a missing or mistyped
// member leaves its default.

#include "store/records.hpp"

#include <boost/json/fwd.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <string>

namespace parley::store {

void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const apns_settings& a);
void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const fcm_settings& f);
void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const push_settings& p);
void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const app_settings& s);
app_settings tag_invoke(boost::json::value_to_tag<app_settings>, const boost::json::value& v);

// The stored text of a settings object or a string map, and back (lenient).
std::string encode_settings(const app_settings& s);
app_settings decode_settings(const std::string& text);
std::string encode_map(const string_map& m);
string_map decode_map(const std::string& text);

}  // namespace parley::store
