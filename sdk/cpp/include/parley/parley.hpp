#pragma once

// libparley: the C++ client SDK of Parley. Include this one header.

#include <parley/call.hpp>
#include <parley/client.hpp>
#include <parley/error.hpp>
#include <parley/listeners.hpp>
#include <parley/media.hpp>
#include <parley/result.hpp>
#include <parley/types.hpp>
