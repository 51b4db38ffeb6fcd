#include "impl/random.hpp"

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <mutex>
#include <random>

namespace parley::detail {

std::string make_device_id() {
  try {
    // The system's generator (getrandom), version 4, RFC 4122 variant; to_string is lowercase.
    return boost::uuids::to_string(boost::uuids::random_generator()());
  } catch (const boost::uuids::entropy_error&) {
    // The OS generator failing is not something an app can fix; fall back to random_device.
    std::random_device rd;
    boost::uuids::basic_random_generator<std::random_device> fallback(rd);
    return boost::uuids::to_string(fallback());
  }
}

double random_unit() {
  static std::mutex mu;
  static std::mt19937_64 engine{std::random_device{}()};
  std::lock_guard lock(mu);
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

}  // namespace parley::detail
