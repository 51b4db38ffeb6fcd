#include "proc_probe.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace parley::bench {

namespace {

// The number after "Key:" in a /proc "Key:   value unit" file, or -1.
std::int64_t field_of(const std::string& text, const std::string& key) {
  auto at = text.find("\n" + key + ":");
  if (at == std::string::npos) return -1;
  return std::strtoll(text.c_str() + at + key.size() + 2, nullptr, 10);
}

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return "\n" + s.str();  // leading newline: every key is found as "\nKey:"
}

}  // namespace

std::optional<process_sample> sample_process(int pid) {
  auto base = "/proc/" + std::to_string(pid);
  auto status = slurp(base + "/status");
  auto stat = slurp(base + "/stat");
  if (!status || !stat) return std::nullopt;
  process_sample s;
  s.vm_rss_kib = field_of(*status, "VmRSS");
  s.rss_anon_kib = field_of(*status, "RssAnon");
  s.threads = static_cast<int>(field_of(*status, "Threads"));
  // /proc/PID/stat: "pid (comm) state ..." and comm may hold spaces, so count from the last ')'.
  // utime and stime are fields 14 and 15, i.e. the 12th and 13th after the ')'.
  auto close = stat->rfind(')');
  if (close == std::string::npos || s.vm_rss_kib < 0) return std::nullopt;
  std::istringstream rest(stat->substr(close + 1));
  std::string skip;
  for (int i = 0; i < 11; ++i) rest >> skip;
  long long utime = 0, stime = 0;
  rest >> utime >> stime;
  s.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  return s;
}

int count_descriptors(int pid) {
  std::error_code ec;
  int n = 0;
  for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end;
       !ec && it != end; it.increment(ec))
    ++n;
  return ec ? -1 : n;
}

std::string open_file_ending(int pid, const std::string& suffix) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end;
       !ec && it != end; it.increment(ec)) {
    std::error_code lec;
    auto target = std::filesystem::read_symlink(it->path(), lec).string();
    if (!lec && target.size() >= suffix.size() &&
        target.compare(target.size() - suffix.size(), suffix.size(), suffix) == 0)
      return target;
  }
  return {};
}

double own_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

namespace {

// Busy seconds of all cores together since boot, from the "cpu" line of /proc/stat
// (user nice system idle iowait irq softirq steal, in clock ticks).
double machine_busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  long long v[8] = {};
  in >> cpu;
  for (auto& x : v) in >> x;
  if (!in || cpu != "cpu") return 0;
  auto busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return static_cast<double>(busy) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double server_cpu(int pid) {
  auto s = sample_process(pid);
  return s ? s->cpu_s : 0;
}

}  // namespace

cpu_meter::cpu_meter(int server_pid)
    : pid_(server_pid),
      wall_(wall_seconds()),
      server_(server_cpu(server_pid)),
      bench_(own_cpu_seconds()),
      machine_busy_(machine_busy_seconds()) {}

cpu_usage cpu_meter::stop() const {
  cpu_usage u;
  u.wall_s = wall_seconds() - wall_;
  u.server_s = server_cpu(pid_) - server_;
  u.bench_s = own_cpu_seconds() - bench_;
  u.others_s = std::max(0.0, machine_busy_seconds() - machine_busy_ - u.server_s - u.bench_s);
  return u;
}

std::uint64_t raise_descriptor_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return 0;
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
    getrlimit(RLIMIT_NOFILE, &r);
  }
  return r.rlim_cur;
}

machine_info describe_machine(int server_pid) {
  machine_info m;
  m.cores = std::thread::hardware_concurrency();
  if (auto cpu = slurp("/proc/cpuinfo")) {
    auto at = cpu->find("\nmodel name");
    if (at != std::string::npos) {
      auto colon = cpu->find(':', at);
      auto end = cpu->find('\n', colon);
      if (colon != std::string::npos) m.cpu_model = cpu->substr(colon + 2, end - colon - 2);
    }
  }
  if (auto mem = slurp("/proc/meminfo")) m.mem_total_mib = field_of(*mem, "MemTotal") / 1024;
  // Which build of the server was measured: the binary's modification time.
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(server_pid) + "/exe", ec);
  struct stat st {};
  if (!ec && ::stat(exe.c_str(), &st) == 0) {
    std::tm tm{};
    gmtime_r(&st.st_mtime, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    m.server_binary_time = text;
  }
  if (auto load = slurp("/proc/loadavg")) {
    std::istringstream in(*load);
    std::string a, b, c;
    in >> a >> b >> c;
    m.load_average = a + " " + b + " " + c;
  }
  utsname u{};
  if (uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;
  if (auto cmd = slurp("/proc/" + std::to_string(server_pid) + "/cmdline")) {
    auto args = cmd->substr(1);
    while (!args.empty() && args.back() == '\0') args.pop_back();
    // Arguments joined by spaces; the values of secret-bearing flags are not copied.
    std::string prev;
    std::size_t start = 0;
    while (start <= args.size()) {
      auto end = args.find('\0', start);
      if (end == std::string::npos) end = args.size();
      auto arg = args.substr(start, end - start);
      bool secret = prev == "--admin-token" || prev == "--turn-secret";
      m.server_command += (m.server_command.empty() ? "" : " ") + (secret ? "***" : arg);
      prev = arg;
      start = end + 1;
    }
  }
  return m;
}

}  // namespace parley::bench
