#pragma once
// Group commit: writes queued from any thread are applied by one writer thread, as many per
// transaction as arrived while the previous transaction committed, and each write's completion
// runs only after the transaction that holds it committed (or failed): nothing is told before it
// is stored. In WAL mode a commit appends every page the transaction changed; writes that share
// a transaction share those pages (the table's last leaf, index leaves), the commit's locking and
// the checkpoint that follows some commits, and none of it runs on an I/O thread. There is no
// timer: an idle writer takes the next write at once, a busy one batches by itself.

#include "common/errors.hpp"

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace parley::store {

class group_commit {
 public:
  struct job {
    // Runs on the writer thread inside the batch's open transaction. A failure undoes this write
    // only (the statement's own rollback); the others of the batch still commit.
    std::function<result<void>()> write;
    // Runs on the writer thread once, after the commit, with the write's outcome (or the
    // commit's failure). Must not block: it hands the answer to the requester's own thread.
    std::function<void(result<void>)> done;
    // Optional: runs on the writer thread right after the commit, still inside the runner's
    // critical section, when the write succeeded (for caches that must change with the commit).
    std::function<void()> committed;
  };

  // Runs one batch: opens a transaction, calls every job's write in order, commits, and leaves
  // each job's outcome in `outcomes` (same order).
  using runner = std::function<void(std::vector<job>& batch, std::vector<result<void>>& outcomes)>;

  // `after` (optional) runs on the writer thread after each batch's dones: work that may take a
  // while and must not delay this batch's answers (a checkpoint).
  group_commit(runner run, std::size_t max_batch, std::function<void()> after = {});
  // Runs every job already queued, then stops the writer thread.
  ~group_commit();
  group_commit(const group_commit&) = delete;
  group_commit& operator=(const group_commit&) = delete;

  // Thread-safe. After destruction has begun, the job runs on the caller's thread instead.
  void submit(job j);
  // Returns once no job is queued or running, counting those a `done` submits while it runs
  // (a retry): after it, no callback of this writer runs unless something new is submitted.
  void wait_idle();

 private:
  void loop();

  runner run_;
  std::function<void()> after_;
  std::size_t max_batch_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<job> queue_;      // guarded by mutex_
  std::size_t unfinished_ = 0;  // queued or running, until its done returned; guarded by mutex_
  std::condition_variable idle_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread writer_;
};

}  // namespace parley::store
