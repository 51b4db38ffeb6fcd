#include "transport/connection_limiter.hpp"

namespace parley::transport {

connection_slot::~connection_slot() {
  std::weak_ptr<reapable> ignored;
  std::lock_guard lock(limiter_->mutex_);
  ignored = limiter_->release_locked(*this);
}

void connection_slot::set_target(std::weak_ptr<reapable> target) {
  std::lock_guard lock(limiter_->mutex_);
  target_ = std::move(target);
}

void connection_slot::idle() {
  std::lock_guard lock(limiter_->mutex_);
  if (released_ || idle_since_ != 0) return;
  idle_since_ = limiter_->next_idle_++;
  limiter_->idle_.emplace(idle_since_, this);
}

void connection_slot::busy() {
  std::lock_guard lock(limiter_->mutex_);
  if (idle_since_ == 0) return;
  limiter_->idle_.erase(idle_since_);
  idle_since_ = 0;
}

std::shared_ptr<connection_limiter> connection_limiter::create(
    connection_limits limits, std::atomic<std::int64_t>* open_gauge) {
  return std::make_shared<connection_limiter>(limits, open_gauge);
}

std::weak_ptr<reapable> connection_limiter::release_locked(connection_slot& s) {
  if (s.released_) return {};
  s.released_ = true;
  if (s.idle_since_ != 0) {
    idle_.erase(s.idle_since_);
    s.idle_since_ = 0;
  }
  --(s.ops_only_ ? ops_ : ordinary_);
  if (auto it = per_address_.find(s.address_); it != per_address_.end() && --it->second == 0)
    per_address_.erase(it);
  publish_locked();
  return std::move(s.target_);
}

std::weak_ptr<reapable> connection_limiter::reap_oldest_locked() {
  if (idle_.empty()) return {};
  // The slot is released now, so its place is free at once; the descriptor follows as soon as
  // the session's strand runs the close.
  return release_locked(*idle_.begin()->second);
}

connection_limiter::admission connection_limiter::admit(const std::string& address) {
  admission a;
  std::weak_ptr<reapable> victim;
  bool ops_only = false;
  {
    std::lock_guard lock(mutex_);
    if (per_address_[address] >= limits_.max_per_address) {
      a.refused = refusal::per_address;
      return a;
    }
    if (ordinary_ >= limits_.max_connections && !idle_.empty()) {
      victim = reap_oldest_locked();
      a.reaped = true;
    }
    // (A reaped ops-only connection frees an ops-only place, not an ordinary one.)
    if (ordinary_ >= limits_.max_connections) {
      if (ops_ < limits_.ops_reserve) {
        ops_only = true;
      } else {
        if (auto it = per_address_.find(address); it != per_address_.end() && it->second == 0)
          per_address_.erase(it);
        a.refused = refusal::limit;
        return a;
      }
    }
    // The reap may have erased this address's entry (its last connection): count anew.
    ++per_address_[address];
    ++(ops_only ? ops_ : ordinary_);
    publish_locked();
    // A new connection waits on its client from the start: idle in the order of admission.
    a.slot = std::make_shared<connection_slot>(shared_from_this(), address, ops_only);
    a.slot->idle_since_ = next_idle_++;
    idle_.emplace(a.slot->idle_since_, a.slot.get());
  }
  if (auto v = victim.lock()) v->reap();
  return a;
}

bool connection_limiter::reap_oldest() {
  std::weak_ptr<reapable> victim;
  bool reaped = false;
  {
    std::lock_guard lock(mutex_);
    reaped = !idle_.empty();
    victim = reap_oldest_locked();
  }
  if (auto v = victim.lock()) v->reap();
  return reaped;
}

std::size_t connection_limiter::open() const {
  std::lock_guard lock(mutex_);
  return ordinary_ + ops_;
}

}  // namespace parley::transport
