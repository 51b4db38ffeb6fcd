#pragma once
// What /proc tells about the server process and this machine: resident memory, CPU time used,
// open descriptors. Linux only, like the rest of the bench.

#include <cstdint>
#include <optional>
#include <string>

namespace parley::bench {

struct process_sample {
  std::int64_t vm_rss_kib = 0;    // VmRSS of /proc/PID/status
  std::int64_t rss_anon_kib = 0;  // RssAnon: heap and stacks, without mapped files
  double cpu_s = 0;               // utime + stime of /proc/PID/stat
  int threads = 0;
};

// Nullopt when the process is gone or /proc cannot be read.
std::optional<process_sample> sample_process(int pid);

// Open descriptors of the process (entries of /proc/PID/fd); -1 when it cannot be read.
int count_descriptors(int pid);

// The path of the file the process holds open whose name ends with `suffix` (e.g. the SQLite
// WAL, "parley.db-wal"), or empty.
std::string open_file_ending(int pid, const std::string& suffix);

// CPU seconds (user + system) this process has used so far.
double own_cpu_seconds();

// Raises the soft limit on open descriptors to the hard limit; returns the new soft limit.
std::uint64_t raise_descriptor_limit();

// CPU time over an interval: the server's, this process's, and everyone else's on the machine
// (other builds and jobs share the cores; the report says how much they took).
struct cpu_usage {
  double wall_s = 0;
  double server_s = 0;
  double bench_s = 0;
  double others_s = 0;  // busy time of all cores minus the two above
};

// Starts measuring at construction; stop() gives the usage since then.
class cpu_meter {
 public:
  explicit cpu_meter(int server_pid);
  cpu_usage stop() const;

 private:
  int pid_;
  double wall_;
  double server_;
  double bench_;
  double machine_busy_;
};

struct machine_info {
  std::string cpu_model;
  unsigned cores = 0;
  std::int64_t mem_total_mib = 0;
  std::string kernel;
  std::string server_command;      // /proc/PID/cmdline, arguments joined by spaces
  std::string server_binary_time;  // modification time of /proc/PID/exe, UTC
  std::string load_average;        // first three fields of /proc/loadavg at the start
};

machine_info describe_machine(int server_pid);

}  // namespace parley::bench
