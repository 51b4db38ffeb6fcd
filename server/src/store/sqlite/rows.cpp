#include "store/sqlite/rows.hpp"

#include "store/stored_json.hpp"

namespace parley::store::sqlite {

app_record read_app(const statement& s) {
  app_record a;
  a.app_id = s.text(0);
  a.name = s.text(1);
  a.api_token_hash = s.text(2);
  a.signing_secret = s.text(3);
  a.created_at = s.int64(4);
  a.settings = decode_settings(s.text(5));
  return a;
}

user_record read_user(const statement& s) {
  user_record u;
  u.app_id = s.text(0);
  u.user_id = s.text(1);
  u.nickname = s.text(2);
  u.profile_url = s.text(3);
  u.metadata = decode_map(s.text(4));
  u.created_at = s.int64(5);
  u.access_token_hash = s.opt_text(6);
  return u;
}

call_record read_call(const statement& s) {
  call_record c;
  c.call_id = s.text(0);
  c.app_id = s.text(1);
  c.caller_id = s.text(2);
  c.callee_id = s.text(3);
  c.is_video = s.int64(4) != 0;
  c.state = static_cast<call_state>(s.int64(5));
  c.created_at = s.int64(6);
  c.accepted_at = s.opt_int64(7);
  c.connected_at = s.opt_int64(8);
  c.ended_at = s.opt_int64(9);
  c.result = static_cast<end_result>(s.int64(10));
  c.ended_by = s.opt_text(11);
  c.custom_items = decode_map(s.text(12));
  c.caller = {s.text(13), s.text(14), s.opt_int64(15)};
  c.callee = {s.text(16), s.text(17), s.opt_int64(18)};
  c.ringing_timeout_ms = s.int64(19);
  c.connection_timeout_ms = s.int64(20);
  c.grace_ms = s.int64(21);
  c.deadline = s.opt_int64(22);
  c.version = s.int64(23);
  return c;
}

void bind_call(statement& s, const call_record& c) {
  s.bind(1, c.call_id).bind(2, c.app_id).bind(3, c.caller_id).bind(4, c.callee_id);
  s.bind(5, static_cast<std::int64_t>(c.is_video)).bind(6, static_cast<std::int64_t>(c.state));
  s.bind(7, c.created_at).bind(8, c.accepted_at).bind(9, c.connected_at).bind(10, c.ended_at);
  s.bind(11, static_cast<std::int64_t>(c.result)).bind(12, c.ended_by);
  s.bind(13, encode_map(c.custom_items));
  s.bind(14, c.caller.connection_id).bind(15, c.caller.device_id).bind(16, c.caller.lost_at);
  s.bind(17, c.callee.connection_id).bind(18, c.callee.device_id).bind(19, c.callee.lost_at);
  s.bind(20, c.ringing_timeout_ms).bind(21, c.connection_timeout_ms).bind(22, c.grace_ms);
  s.bind(23, c.deadline).bind(24, c.version);
}

outbox_entry read_outbox(const statement& s) {
  outbox_entry e;
  e.seq = s.int64(0);
  e.event_id = s.text(1);
  e.app_id = s.text(2);
  e.kind = static_cast<outbox_kind>(s.int64(3));
  e.order_key = s.text(4);
  e.event = s.text(5);
  e.payload = s.text(6);
  e.state = static_cast<delivery_state>(s.int64(7));
  e.attempts = static_cast<int>(s.int64(8));
  e.created_at = s.int64(9);
  e.next_attempt_at = s.int64(10);
  e.give_up_at = s.int64(11);
  if (auto st = s.opt_int64(12)) e.last_status = static_cast<int>(*st);
  e.last_error = s.opt_text(13);
  return e;
}

}  // namespace parley::store::sqlite
