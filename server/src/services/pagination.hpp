#pragma once
// Pagination of the list routes (protocol.md, "Conventions": `limit` and the `next` cursor),
// written once for users, webhook deliveries and calls. A list is read one row past the page:
// that row, when it exists, tells that another page follows, and the page's last row becomes
// the cursor. A cursor is the base64url of the last row's key; each list reads its own key
// back and refuses one it did not issue.

#include "common/crypto.hpp"
#include "common/errors.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::services {

inline constexpr int default_page_limit = 20;
inline constexpr int max_page_limit = 100;

// What a list request asks for: at most `limit` rows after `cursor` (empty: from the start).
struct page_request {
  int limit = default_page_limit;
  std::string cursor;
};

// invalid_request (field "limit") unless 1 <= limit <= max_page_limit.
inline result<void> check_page_limit(int limit) {
  if (limit < 1 || limit > max_page_limit)
    return fail(errc::invalid_request, "limit must be 1 to 100", "limit");
  return {};
}

// The answer to a cursor that does not decode to a key of the list.
inline failure bad_cursor() {
  return fail(errc::invalid_request, "next is not a cursor this server issued", "next");
}

inline std::string encode_cursor(std::string_view key) {
  return crypto::base64url(key);
}

// The key a cursor carries; bad_cursor() when it is not base64url. The caller checks the key.
inline result<std::string> decode_cursor(std::string_view cursor) {
  auto key = crypto::base64url_decode(cursor);
  if (!key) return bad_cursor();
  return std::move(*key);
}

// `rows` as read with limit + 1: trims it to `limit` and returns the cursor after its last row
// (`key_of(row)` is that row's key), or nullopt when no row follows.
template <class Row, class KeyOf>
std::optional<std::string> trim_page(std::vector<Row>& rows, int limit, KeyOf key_of) {
  if (rows.size() <= static_cast<std::size_t>(limit)) return std::nullopt;
  rows.resize(static_cast<std::size_t>(limit));
  return encode_cursor(key_of(rows.back()));
}

}  // namespace parley::services
