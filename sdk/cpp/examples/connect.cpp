// Authenticates a user with an access token, opens the WebSocket, prints connection changes
// until Enter is pressed, then deauthenticates.
//
//   parley_example_connect http://127.0.0.1:8080 APP_ID USER_ID ACCESS_TOKEN [DATA_DIR]

#include <parley/parley.hpp>

#include <iostream>
#include <string>

namespace {

class printer : public parley::connection_listener {
 public:
  void on_connected() override { std::cout << "connected\n"; }
  void on_reconnecting(int attempt, std::chrono::milliseconds delay) override {
    std::cout << "reconnecting (attempt " << attempt << ", in " << delay.count() << " ms)\n";
  }
  void on_disconnected(const parley::disconnect_info& info) override {
    std::cout << "disconnected: " << parley::to_string(info.reason) << " " << info.message << "\n";
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: " << argv[0] << " API_URL APP_ID USER_ID ACCESS_TOKEN [DATA_DIR]\n";
    return 2;
  }
  try {
    parley::client client;
    parley::client_options options;
    options.api_url = argv[1];
    options.data_dir = argc > 5 ? argv[5] : "./parley-data";
    client.init(argv[2], options);
    client.add_connection_listener(std::make_shared<printer>());

    auto me = client.authenticate({.user_id = argv[3], .access_token = argv[4]}).get();
    std::cout << "authenticated as " << me.user_id << " on device " << client.device_id() << "\n";
    client.connect_websocket().get();

    std::cout << "press Enter to sign out\n";
    std::string line;
    std::getline(std::cin, line);
    client.deauthenticate().get();
  } catch (const parley::error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
