#include "store/sqlite/group_commit.hpp"

#include <algorithm>
#include <iterator>

namespace parley::store {

group_commit::group_commit(runner run, std::size_t max_batch, std::function<void()> after)
    : run_(std::move(run)),
      after_(std::move(after)),
      max_batch_(std::max<std::size_t>(1, max_batch)) {
  writer_ = std::thread([this] { loop(); });
}

group_commit::~group_commit() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
}

void group_commit::submit(job j) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      ++unfinished_;
      queue_.push_back(std::move(j));
      // Only the first write of a batch needs to wake the writer; the others wait for it.
      if (queue_.size() > 1) return;
    } else {
      // Shutting down: no writer to hand it to; run it as a batch of one, here.
      std::vector<job> one;
      one.push_back(std::move(j));
      std::vector<result<void>> outcome;
      run_(one, outcome);
      one.front().done(std::move(outcome.front()));
      return;
    }
  }
  wake_.notify_one();
}

void group_commit::loop() {
  std::vector<job> batch;
  std::vector<result<void>> outcomes;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued has run
      auto n = std::min(queue_.size(), max_batch_);
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    outcomes.clear();
    run_(batch, outcomes);
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(outcomes[i]));
    if (after_) after_();
    {
      std::lock_guard lock(mutex_);
      unfinished_ -= batch.size();
      if (unfinished_ == 0) idle_.notify_all();
    }
    batch.clear();
  }
}

void group_commit::wait_idle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return unfinished_ == 0; });
}

}  // namespace parley::store
