#pragma once
// A user as the services hand it out: the profile, and whether an access token is set. The
// stored row (store::user_record) also holds the token's hash, which nothing outside the
// services and the store needs to see.

#include "common/clock.hpp"
#include "store/records.hpp"

#include <string>

namespace parley::services {

struct user {
  std::string app_id;
  std::string user_id;
  std::string nickname;
  std::string profile_url;
  store::string_map metadata;
  millis created_at = 0;
  bool has_access_token = false;
};

// The user of a stored row.
inline user user_of(const store::user_record& r) {
  return {r.app_id,
          r.user_id,
          r.nickname,
          r.profile_url,
          r.metadata,
          r.created_at,
          r.access_token_hash.has_value()};
}

}  // namespace parley::services
