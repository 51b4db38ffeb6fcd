#pragma once
// The store writes calls with group commit only: these wait for the answer, for tests.

#include "store/store.hpp"

#include <future>
#include <span>
#include <vector>

namespace parley::store {

// The store writes calls with group commit only; the tests wait for the answer.
inline result<void> create_call_now(store& st, const call_record& c,
                                    std::span<const outbox_entry> outbox = {},
                                    ringing_limits limits = {}) {
  std::promise<result<void>> answered;
  auto answer = answered.get_future();
  st.create_call_batched(
      c, {outbox.begin(), outbox.end()},
      [&answered](result<void> r) { answered.set_value(std::move(r)); }, limits);
  return answer.get();
}

inline result<bool> update_call_now(store& st, const call_record& c,
                                    std::span<const outbox_entry> outbox = {}) {
  std::promise<result<bool>> answered;
  auto answer = answered.get_future();
  st.update_call_batched(c, {outbox.begin(), outbox.end()},
                         [&answered](result<bool> r) { answered.set_value(std::move(r)); });
  return answer.get();
}

}  // namespace parley::store
