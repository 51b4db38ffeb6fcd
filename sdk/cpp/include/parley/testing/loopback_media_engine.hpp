#pragma once

// parley::loopback_media_engine: a fake media_engine for tests and the terminal client (`parley`).
// Not part of <parley/parley.hpp>: include this header where it is used. It is built into
// libparley, so nothing else needs linking.

#include <parley/media.hpp>

#include <memory>
#include <string>
#include <vector>

namespace parley {

// A fake engine for tests and the terminal client: the offer is "v=0 fake offer <call id>", the
// answer "v=0 fake answer <call id>", each side trickles one candidate
// "candidate:<offer|answer> fake <call id>" once it has its local description, and it reports
// connected when it has the local and the remote description and one remote candidate of the same
// call. A remote description or candidate of another call makes it fail.
class loopback_media_engine : public media_engine {
 public:
  explicit loopback_media_engine(std::string call_id);

  // A factory for client::set_media_engine_factory.
  static media_engine_factory factory();

  void start(std::shared_ptr<media_engine_observer> observer) override;
  void create_offer(sdp_callback done) override;
  void apply_offer(std::string offer, sdp_callback done) override;
  void apply_answer(std::string answer) override;
  void add_remote_candidate(std::string candidate) override;
  void close() override;

  // What it saw (for tests; read them after the call connected or ended).
  std::string local_description() const;
  std::string remote_description() const;
  std::vector<std::string> remote_candidates() const;
  bool closed() const;

 private:
  struct state;
  std::shared_ptr<state> st_;
};

}  // namespace parley
