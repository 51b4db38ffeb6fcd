// parley-store-bench: the store's hot operations, one after another on one thread, against a
// store on a temporary directory; prints operations per second for each. Run it under
// `valgrind --tool=callgrind` for instructions per operation, which do not depend on the
// machine's load (the figures docs/performance.md compares across changes).
//
//   parley-store-bench [ROUNDS]    # default 20000

#include "store/sqlite/sqlite_store.hpp"

#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace {

using clock_type = std::chrono::steady_clock;

template <class Op>
void measure(const char* name, int rounds, Op&& op) {
  auto start = clock_type::now();
  for (int i = 0; i < rounds; ++i)
    if (!op(i)) {
      std::fprintf(stderr, "%s failed at round %d\n", name, i);
      std::exit(1);
    }
  double s = std::chrono::duration<double>(clock_type::now() - start).count();
  std::printf("%-28s %8d ops  %10.0f ops/s\n", name, rounds, rounds / s);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace parley::store;
  int rounds = argc > 1 ? std::atoi(argv[1]) : 20000;
  if (rounds <= 0) {
    std::fprintf(stderr, "usage: parley-store-bench [ROUNDS]\n");
    return 2;
  }
  auto dir =
      std::filesystem::temp_directory_path() / ("parley-store-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    auto st = open_sqlite_store((dir / "p.db").string());
    app_record app;
    app.app_id = "app";
    app.name = "bench";
    app.api_token_hash = "h";
    app.signing_secret = "s";
    if (!st->create_app(app)) return 1;
    constexpr int users = 1000;
    auto user_of = [](int i) { return "u" + std::to_string(i % users); };
    for (int i = 0; i < users; ++i) {
      user_record u;
      u.app_id = "app";
      u.user_id = user_of(i);
      u.access_token_hash = "t";
      if (!st->create_user(u)) return 1;
    }
    measure("find_app_and_user", rounds,
            [&](int i) { return static_cast<bool>(st->find_app_and_user("app", user_of(i))); });
    std::vector<session_record> sessions;
    sessions.reserve(static_cast<std::size_t>(rounds));
    measure("create_session", rounds, [&](int i) {
      session_record s;
      s.id = st->new_session_id();
      s.key_hash = "k" + std::to_string(i);
      s.app_id = "app";
      s.user_id = user_of(i);
      s.source = session_source::access_token;
      s.device_id = "d";
      s.created_at = i;
      sessions.push_back(s);
      return static_cast<bool>(st->create_session(s));
    });
    measure("find_session", rounds, [&](int i) {
      const auto& s = sessions[static_cast<std::size_t>(i)];
      user_record u;
      return static_cast<bool>(st->find_session(s.id, s.key_hash, &u));
    });
  }
  std::filesystem::remove_all(dir);
  return 0;
}
