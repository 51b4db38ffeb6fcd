// Every WebSocket request decoder (api/ws_dispatch): the real per-connection handler, with a
// connection that records what it is sent, on a temporary store. An input is a list of frames,
// one per line; a line starting "b>" is sent by bob's connection, any other by alice's; a line
// that is exactly "!bin" is a binary frame; "$CALL_ID" in a line is the id of the last call a
// frame named (calls get their ids from the server). Seeds start with a hello using the
// placeholders of fuzz::world::expand. Calls go through the call service and its group commit, as
// in the server.
//
// Invariants (abort on violation):
// - every request (a known request type with a req_id of 1 to 64 bytes, after welcome, on an
//   open connection) gets exactly one ack or error with that req_id;
// - an answer held for the commit is always given (reading resumes within 10 s);
// - every frame the server sends, to the requester or relayed to the peer, is a JSON object
//   with a string `type`;
// - a connection that was closed is sent nothing more by its handler.
#include "api/ws_dispatch.hpp"
#include "world.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string_view>
#include <vector>

namespace {

namespace json = boost::json;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_ws_dispatch invariant violated: %s\n", what);
  std::abort();
}

// Records frames; thread-safe (answers come from the store's thread).
class recording_connection final : public parley::services::client_connection {
 public:
  bool send(std::string text) override {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    frames_.push_back(std::move(text));
    return true;
  }
  void close(int, std::string) override {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  void resume_reading() override {
    std::lock_guard lock(mutex_);
    ++resumed_;
    cv_.notify_all();
  }
  // Waits until resume_reading() was called `n` times in all.
  bool wait_resumed(int n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return resumed_ >= n; });
  }
  std::vector<std::string> frames() {
    std::lock_guard lock(mutex_);
    return frames_;
  }
  bool closed() {
    std::lock_guard lock(mutex_);
    return closed_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> frames_;
  bool closed_ = false;
  int resumed_ = 0;
};

struct peer {
  std::shared_ptr<recording_connection> conn = std::make_shared<recording_connection>();
  std::unique_ptr<parley::api::ws_handler> handler;
  int held = 0;
  bool welcomed = false;
  std::size_t checked = 0;  // frames already checked to be JSON objects with a type
};

std::string_view type_of(const json::value& v) {
  if (!v.is_object()) return {};
  auto t = v.as_object().if_contains("type");
  return t && t->is_string() ? std::string_view(t->as_string()) : std::string_view{};
}

// Every frame a peer got since the last look parses as a JSON object with a type.
void check_frames(peer& p) {
  auto frames = p.conn->frames();
  for (; p.checked < frames.size(); ++p.checked) {
    boost::system::error_code ec;
    auto v = json::parse(frames[p.checked], ec);
    check(!ec && !type_of(v).empty(), "a frame that is not a JSON object with a type");
  }
}

// The server refuses a number beyond a double's range (it has no JSON form), and then cannot
// tell the req_id, as for any text it cannot parse.
bool finite(const json::value& v) {
  if (v.is_double()) return std::isfinite(v.get_double());
  if (v.is_array())
    return std::all_of(v.get_array().begin(), v.get_array().end(),
                       [](const json::value& e) { return finite(e); });
  if (v.is_object())
    return std::all_of(v.get_object().begin(), v.get_object().end(),
                       [](const auto& kv) { return finite(kv.value()); });
  return true;
}

bool is_request_type(std::string_view t) {
  for (auto r :
       {"refresh", "dial", "accept", "decline", "end", "media_connected", "signal", "media_state"})
    if (t == r) return true;
  return false;
}

std::string last_call_id;

void remember_call(const json::value& v) {
  const auto& o = v.as_object();
  if (auto id = o.if_contains("call_id"); id && id->is_string()) last_call_id = id->as_string();
  if (auto c = o.if_contains("call"); c && c->is_object())
    if (auto id = c->as_object().if_contains("call_id"); id && id->is_string())
      last_call_id = id->as_string();
}

void frame(peer& p, std::string_view raw, bool binary) {
  std::string text(raw);
  for (auto at = text.find("$CALL_ID"); at != std::string::npos;
       at = text.find("$CALL_ID", at + last_call_id.size()))
    text.replace(at, 8, last_call_id);
  bool was_closed = p.conn->closed();
  auto before = p.conn->frames().size();
  // What the frame asks, decoded independently of the handler.
  std::string req_id;
  bool is_request = false;
  if (!binary) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (!ec && v.is_object() && finite(v)) {
      auto r = v.as_object().if_contains("req_id");
      if (r && r->is_string() && !r->as_string().empty() && r->as_string().size() <= 64)
        req_id = r->as_string();
      is_request = is_request_type(type_of(v)) && !req_id.empty();
    }
  }
  if (binary) {
    p.handler->on_binary();
  } else if (p.handler->on_text(text)) {
    ++p.held;
    check(p.conn->wait_resumed(p.held), "a held answer never came");
  }
  auto frames = p.conn->frames();
  if (was_closed) check(frames.size() == before, "a closed connection was sent a frame");
  int answers = 0;
  for (auto i = before; i < frames.size(); ++i) {
    boost::system::error_code ec;
    auto v = json::parse(frames[i], ec);
    check(!ec && !type_of(v).empty(), "a frame that is not a JSON object with a type");
    if (type_of(v) == "welcome") p.welcomed = true;
    remember_call(v);
    auto t = type_of(v);
    if ((t == "ack" || t == "error") && v.as_object().if_contains("req_id") &&
        v.as_object().at("req_id").is_string() && v.as_object().at("req_id").as_string() == req_id)
      ++answers;
  }
  if (is_request && p.welcomed && !was_closed && !p.conn->closed())
    check(answers == 1, "a request did not get exactly one ack or error");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static parley::fuzz::world w("ws");
  w.repair();
  auto input = w.expand(std::string_view(reinterpret_cast<const char*>(data), size));
  last_call_id.clear();
  peer alice, bob;
  alice.handler = parley::api::open_ws_handler(*w.ctx, alice.conn);
  bob.handler = parley::api::open_ws_handler(*w.ctx, bob.conn);
  std::string_view rest = input;
  int lines = 0;
  while (!rest.empty() && ++lines <= 64) {
    auto nl = rest.find('\n');
    auto line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    peer* p = &alice;
    if (line.starts_with("b>")) {
      p = &bob;
      line.remove_prefix(2);
    }
    frame(*p, line, line == "!bin");
    check_frames(alice);
    check_frames(bob);
  }
  alice.handler->on_close();
  bob.handler->on_close();
  alice.handler.reset();
  bob.handler.reset();
  w.end_calls();
  return 0;
}
