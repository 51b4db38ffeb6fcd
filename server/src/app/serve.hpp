#pragma once
// The composition root: the one place that knows which store and bus are concrete. Builds the
// services, the API and the transport, prints the listening line and runs until drained.

#include "app/config.hpp"

namespace parley::app {

// Returns the process exit code.
int serve(const serve_config& cfg);

}  // namespace parley::app
