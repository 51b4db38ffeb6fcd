#pragma once
// Precompiled for the bench: the heavy Boost headers, parsed once per build.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
