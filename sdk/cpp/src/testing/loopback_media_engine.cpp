// loopback_media_engine: the fake engine. It keeps its state behind a mutex, since its observer
// and callbacks may be used from any thread.

#include <parley/testing/loopback_media_engine.hpp>

#include <mutex>
#include <optional>

namespace parley {

struct loopback_media_engine::state {
  std::mutex mu;
  std::string call_id;
  std::shared_ptr<media_engine_observer> observer;
  std::string local;
  std::string remote;
  std::vector<std::string> remote_candidates;
  bool connected = false;
  bool failed = false;
  bool closed = false;
};

namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

loopback_media_engine::loopback_media_engine(std::string call_id) : st_(std::make_shared<state>()) {
  st_->call_id = std::move(call_id);
}

media_engine_factory loopback_media_engine::factory() {
  return [](const call_info& c, const std::vector<ice_server>&) {
    return std::make_shared<loopback_media_engine>(c.call_id);
  };
}

void loopback_media_engine::start(std::shared_ptr<media_engine_observer> observer) {
  std::lock_guard lock(st_->mu);
  st_->observer = std::move(observer);
}

// Which reports the engine owes after a change; made under the lock, sent outside it.
namespace {
struct reports {
  std::shared_ptr<media_engine_observer> observer;
  std::optional<std::string> candidate;
  bool connected = false;
  std::optional<std::string> failure;
  void send() {
    if (!observer) return;
    if (candidate) observer->on_local_candidate(*candidate);
    if (failure) observer->on_media_failed(*failure);
    if (connected) observer->on_media_connected();
  }
};
}  // namespace

void loopback_media_engine::create_offer(sdp_callback done) {
  reports r;
  std::string offer;
  {
    std::lock_guard lock(st_->mu);
    offer = "v=0 fake offer " + st_->call_id;
    st_->local = offer;
    r.observer = st_->observer;
    r.candidate = "candidate:offer fake " + st_->call_id;
  }
  done(offer);
  r.send();
}

void loopback_media_engine::apply_offer(std::string offer, sdp_callback done) {
  reports r;
  std::string answer;
  {
    std::lock_guard lock(st_->mu);
    r.observer = st_->observer;
    st_->remote = offer;
    if (offer != "v=0 fake offer " + st_->call_id) {
      st_->failed = true;
      r.failure = "an offer of another call: " + offer;
    } else {
      answer = "v=0 fake answer " + st_->call_id;
      st_->local = answer;
      r.candidate = "candidate:answer fake " + st_->call_id;
    }
  }
  if (r.failure)
    done(error(error_code::invalid_request, *r.failure));
  else
    done(answer);
  r.send();
}

void loopback_media_engine::apply_answer(std::string answer) {
  reports r;
  {
    std::lock_guard lock(st_->mu);
    r.observer = st_->observer;
    st_->remote = answer;
    if (answer != "v=0 fake answer " + st_->call_id) {
      st_->failed = true;
      r.failure = "an answer of another call: " + answer;
    }
  }
  r.send();
}

void loopback_media_engine::add_remote_candidate(std::string candidate) {
  reports r;
  {
    std::lock_guard lock(st_->mu);
    r.observer = st_->observer;
    if (!ends_with(candidate, " fake " + st_->call_id)) {
      st_->failed = true;
      r.failure = "a candidate of another call: " + candidate;
    } else {
      st_->remote_candidates.push_back(candidate);
      if (!st_->connected && !st_->failed && !st_->closed && !st_->local.empty() &&
          !st_->remote.empty()) {
        st_->connected = true;
        r.connected = true;
      }
    }
  }
  r.send();
}

void loopback_media_engine::close() {
  std::lock_guard lock(st_->mu);
  st_->closed = true;
  st_->observer.reset();
}

std::string loopback_media_engine::local_description() const {
  std::lock_guard lock(st_->mu);
  return st_->local;
}

std::string loopback_media_engine::remote_description() const {
  std::lock_guard lock(st_->mu);
  return st_->remote;
}

std::vector<std::string> loopback_media_engine::remote_candidates() const {
  std::lock_guard lock(st_->mu);
  return st_->remote_candidates;
}

bool loopback_media_engine::closed() const {
  std::lock_guard lock(st_->mu);
  return st_->closed;
}

}  // namespace parley
