#include "transport/replay.hpp"

#include "transport/connection_limiter.hpp"
#include "transport/http_session.hpp"
#include "transport/memory_stream.hpp"

#include <boost/asio/io_context.hpp>

namespace parley::transport {

std::string replay_http(std::string_view bytes, api::context& ctx, api::http_api& http,
                        const transport_config& cfg) {
  boost::asio::io_context io;
  memory_stream server(io, boost::beast::string_view(bytes.data(), bytes.size()));
  boost::beast::test::stream client(io);
  server.connect(client);
  // The client has said everything: reads past `bytes` see end of stream.
  server.close_remote();
  drain_registry registry;
  static_dir web(cfg.web_root);
  static_dir sdk(cfg.sdk_dir);
  session_env env{ctx, http, cfg, registry, web, sdk};
  // One connection under caps it cannot reach, as the acceptor would admit it.
  auto limiter = connection_limiter::create({});
  auto slot = limiter->admit("127.0.0.1").slot;
  start_http_session(std::move(server), "127.0.0.1", env, std::move(slot));
  io.run();
  return std::string(client.str());
}

}  // namespace parley::transport
