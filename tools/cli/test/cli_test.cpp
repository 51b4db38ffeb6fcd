// The terminal client against a real parleyd: two users sign in, one answers in the background
// while the other calls, and the call log lists the call. The binary is the one built with the
// test (PARLEY_CLI in the environment overrides it).
// Processes are spawned without a shell; each is waited for by its exit (no sleeps).

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cstdlib>
#include <fstream>
#include <sstream>

extern char** environ;

namespace parley {
namespace {

namespace fs = std::filesystem;

struct process {
  pid_t pid = -1;
  fs::path output;
};

// Runs `cli args...` with stdout and stderr into `output`.
process spawn(const std::string& cli, const std::vector<std::string>& args,
              const fs::path& output) {
  std::vector<std::string> all{cli};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  process p;
  p.output = output;
  int rc = posix_spawn(&p.pid, cli.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + cli);
  return p;
}

// Waits for the exit; the exit status, or -1 when it did not exit normally.
int wait_exit(const process& p) {
  int status = 0;
  while (::waitpid(p.pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class cli : public ::testing::Test {
 protected:
  void SetUp() override {
    parleyd_ = test::parleyd_path();
    const char* cli_path = std::getenv("PARLEY_CLI");
    cli_ = cli_path && *cli_path ? cli_path : PARLEY_CLI_PATH;
    if (parleyd_.empty()) GTEST_SKIP() << "PARLEYD is not set";
    app_ = test::create_app(parleyd_, server_dir_.path(), "cli");
    server_ = std::make_unique<test::server_process>(parleyd_, server_dir_.path());
    platform_ = std::make_unique<test::platform_api>(server_->url(), app_);
  }

  // Runs the client to its end: {exit code, output}.
  std::pair<int, std::string> run(const std::vector<std::string>& args) {
    auto out = work_.path() / ("out-" + std::to_string(runs_++));
    auto p = spawn(cli_, args, out);
    int code = wait_exit(p);
    return {code, read_file(out)};
  }

  std::vector<std::string> with_dir(const std::string& user, std::vector<std::string> args) {
    args.push_back("--data-dir");
    args.push_back((work_.path() / user).string());
    return args;
  }

  std::pair<int, std::string> login(const std::string& user) {
    auto token = platform_->create_user(user, true);
    return run(with_dir(user, {"login", "--api", server_->url(), "--app", app_.app_id, "--user",
                               user, "--token", *token}));
  }

  std::string parleyd_;
  std::string cli_;
  test::temp_dir server_dir_;
  test::temp_dir work_;
  int runs_ = 0;
  test::app_credentials app_;
  std::unique_ptr<test::server_process> server_;
  std::unique_ptr<test::platform_api> platform_;
};

TEST_F(cli, login_call_answer_and_the_call_log) {
  auto [alice_code, alice_out] = login("alice");
  ASSERT_EQ(alice_code, 0) << alice_out;
  EXPECT_NE(alice_out.find("signed in as alice"), std::string::npos) << alice_out;
  auto [bob_code, bob_out] = login("bob");
  ASSERT_EQ(bob_code, 0) << bob_out;

  // Bob answers in the background; a call that rings before he is connected still reaches him
  // (from the welcome), so no wait is needed before dialling.
  auto answer = spawn(cli_, with_dir("bob", {"answer", "--timeout", "20", "--hangup-after", "1"}),
                      work_.path() / "answer-out");
  auto [call_code, call_out] = run(with_dir("alice", {"call", "bob"}));
  int answer_code = wait_exit(answer);
  auto answer_out = read_file(answer.output);

  EXPECT_EQ(call_code, 0) << call_out;
  EXPECT_EQ(answer_code, 0) << answer_out;
  for (const auto* out : {&call_out, &answer_out}) {
    EXPECT_NE(out->find("accepted"), std::string::npos) << *out;
    EXPECT_NE(out->find("\nconnected\n"), std::string::npos) << *out;
    EXPECT_NE(out->find("ended completed by bob"), std::string::npos) << *out;
  }
  EXPECT_NE(answer_out.find("ringing: alice calls (audio)"), std::string::npos) << answer_out;
  EXPECT_NE(answer_out.find("hanging up"), std::string::npos) << answer_out;

  auto [log_code, log_out] = run(with_dir("alice", {"calls", "--limit", "5"}));
  EXPECT_EQ(log_code, 0) << log_out;
  EXPECT_NE(log_out.find("WHEN"), std::string::npos) << log_out;
  EXPECT_NE(log_out.find("out  bob"), std::string::npos) << log_out;
  EXPECT_NE(log_out.find("completed"), std::string::npos) << log_out;
  auto [bob_log_code, bob_log_out] = run(with_dir("bob", {"calls"}));
  EXPECT_EQ(bob_log_code, 0);
  EXPECT_NE(bob_log_out.find("in   alice"), std::string::npos) << bob_log_out;

  auto [logout_code, logout_out] = run(with_dir("alice", {"logout"}));
  EXPECT_EQ(logout_code, 0) << logout_out;
  // Signed out: an authentication error.
  EXPECT_EQ(run(with_dir("alice", {"calls"})).first, 2);
}

TEST_F(cli, exit_codes_say_what_went_wrong) {
  // Usage.
  EXPECT_EQ(run({"frobnicate"}).first, 1);
  EXPECT_EQ(run(with_dir("x", {"call"})).first, 1);
  EXPECT_EQ(run({"--help"}).first, 0);
  // Authentication: a wrong token, and a directory with no login.
  platform_->create_user("carol", true);
  auto [bad_code, bad_out] =
      run(with_dir("carol", {"login", "--api", server_->url(), "--app", app_.app_id, "--user",
                             "carol", "--token", "wrong"}));
  EXPECT_EQ(bad_code, 2) << bad_out;
  EXPECT_EQ(run(with_dir("nobody", {"call", "carol"})).first, 2);
  // Calls that fail: an unknown callee, and nobody calling in time.
  ASSERT_EQ(login("dave").first, 0);
  auto [unknown_code, unknown_out] = run(with_dir("dave", {"call", "no-such-user"}));
  EXPECT_EQ(unknown_code, 3) << unknown_out;
  auto [wait_code, wait_out] = run(with_dir("dave", {"answer", "--timeout", "0"}));
  EXPECT_EQ(wait_code, 3) << wait_out;
  EXPECT_NE(wait_out.find("no call"), std::string::npos);
}

TEST_F(cli, the_command_line_reads_as_docs_cli_md_says) {
  // Help anywhere, even after an unknown command: the usage on stdout, exit 0.
  for (auto args : std::vector<std::vector<std::string>>{
           {"-h"}, {"call", "--help"}, {"frobnicate", "--help"}, {"calls", "--limit", "5", "-h"}}) {
    auto [code, out] = run(args);
    EXPECT_EQ(code, 0) << args.front();
    EXPECT_NE(out.find("usage:"), std::string::npos) << out;
  }
  // No command: the usage, exit 1.
  EXPECT_EQ(run({}).first, 1);
  EXPECT_EQ(run({"--verbose"}).first, 1);
  // Usage errors, each exit 1 before any connection is tried.
  for (auto args :
       std::vector<std::vector<std::string>>{{"whoami", "--bogus"},
                                             {"calls", "--limit", "0"},
                                             {"calls", "--limit", "x"},
                                             {"calls", "--limit"},
                                             {"answer", "--timeout", "-1"},
                                             {"call", "bob", "--hangup-after", "1.5"},
                                             {"call", "bob", "alice"},
                                             {"answer", "bob"},
                                             {"call", "bob", "--limit", "5"},
                                             {"login", "--api", "http://x"},
                                             {"login", "--api", "http://x", "--app", "a", "--user",
                                              "u", "--token", "t", "--session-token", "--jwt"}}) {
    auto [code, out] = run(with_dir("erin", args));
    EXPECT_EQ(code, 1) << args.front() << " " << args.back() << ": " << out;
  }
  // The options for every command before it, a value after '=', a repeated option's last value.
  auto token = platform_->create_user("erin", true);
  auto dir = (work_.path() / "erin").string();
  auto [login_code, login_out] =
      run({"--data-dir", dir, "login", "--api=" + server_->url(), "--app", "wrong", "--app",
           app_.app_id, "--user", "erin", "--token=" + *token});
  EXPECT_EQ(login_code, 0) << login_out;
  auto [who_code, who_out] = run({"whoami", "--data-dir=" + dir});
  EXPECT_EQ(who_code, 0) << who_out;
  EXPECT_EQ(who_out, "erin\n");
}

}  // namespace
}  // namespace parley
