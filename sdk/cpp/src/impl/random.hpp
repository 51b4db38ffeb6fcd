#pragma once

// Randomness of the SDK: device ids and reconnection jitter.

#include <string>

namespace parley::detail {

// A lowercase UUID v4 from the system's cryptographic generator.
std::string make_device_id();

// A uniformly distributed number in [0, 1).
double random_unit();

}  // namespace parley::detail
