#pragma once
// Firebase Cloud Messaging HTTP v1, authorised by an OAuth2 access token that a service
// account's RS256 JWT-bearer assertion buys from Google's token endpoint.

#include "common/errors.hpp"
#include "outbound/http_client.hpp"
#include "services/push/push_types.hpp"

#include <map>
#include <string>

namespace parley::services::push {

struct fcm_credentials {
  std::string project_id;
  std::string client_email;
  std::string private_key_id;
  std::string private_key_pem;
  std::string token_uri;  // from the service account; default https://oauth2.googleapis.com/token
};

inline constexpr const char* fcm_scope = "https://www.googleapis.com/auth/firebase.messaging";

class fcm_client {
 public:
  // The access token for these credentials, cached until 60 s before it expires. When missing,
  // POSTs the assertion (aud = the URL posted to: oauth_url when not empty, else token_uri) as
  // application/x-www-form-urlencoded grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer
  // &assertion=..., with http.perform(), and reads {access_token, expires_in}. unavailable when
  // the endpoint cannot be reached or answers 5xx; invalid_credentials when it refuses (4xx).
  result<std::string> access_token(outbound::http_transport& http, const fcm_credentials& creds,
                                   const std::string& oauth_url, millis now);
  // POST {base_url}/v1/projects/{project_id}/messages:send, Authorization: Bearer <token>, body
  // {"message":{"token":T,"data":{"parley":"<parley_json>"},"android":{"priority":"HIGH",
  // "ttl":"<seconds until expires_at, at least 0>s"}}}.
  result<outbound::request> build(const fcm_credentials& creds, const std::string& base_url,
                                  const std::string& access_token, const push_message& msg,
                                  millis now) const;
  // 200 delivered; an error whose details hold errorCode UNREGISTERED (404 or 400), or status
  // NOT_FOUND: unregistered; 401: reauthenticate; 429, 5xx, status 0: retry; other: rejected.
  classified classify(const outbound::response& r) const;
  void invalidate(const fcm_credentials& creds);

 private:
  struct cached_token {
    std::string token;
    millis expires_at = 0;
  };
  std::map<std::string, cached_token> tokens_;  // key: client_email + '\n' + private_key_id
};

}  // namespace parley::services::push
