#pragma once
// Turns the call machine's effects into wire events (`ringing`, `accepted`, `ended`, …) and
// sends them to the connections each effect names, through the connection hub.

#include "services/call_service.hpp"
#include "services/connection_hub.hpp"

namespace parley::api {

class call_delivery final : public services::call_notifier {
 public:
  explicit call_delivery(services::connection_hub& hub) : hub_(hub) {}
  void deliver(const store::call_record& call, const services::calls::effect& e) override;

 private:
  services::connection_hub& hub_;
};

}  // namespace parley::api
