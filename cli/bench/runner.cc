#include "bench/runner.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace convstore::cli::bench {

namespace {

using Clock = std::chrono::steady_clock;

// i for a call: unique across workers, blocks and calls.
int64_t CallIndex(int worker, int block, int64_t n) {
  return (static_cast<int64_t>(worker) << 48) | (static_cast<int64_t>(block) << 32) | n;
}

// Calls `call` back to back until `seconds` have passed; appends each call's nanoseconds to `out`.
void Loop(const Call& call, int worker, int block, double seconds, std::vector<int64_t>& out) {
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (int64_t n = 0;; ++n) {
    const auto t0 = Clock::now();
    if (t0 >= deadline) break;
    call(CallIndex(worker, block, n));
    out.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
  }
}

bool WriteAll(int fd, const void* data, size_t bytes) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = write(fd, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    bytes -= static_cast<size_t>(n);
  }
  return true;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Each worker a process of its own: it opens its caller, runs the block and writes back "ok" and its samples, or
// "error" and the message.
void ProcessBlock(const Workload& w, Side side, int block, double seconds, Samples& samples) {
  std::vector<pid_t> pids;
  std::vector<int> fds;
  for (int k = 0; k < w.workers; ++k) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
      close(pipe_fds[0]);
      int code = 0;
      try {
        const Call call = w.open(side, k);
        std::vector<int64_t> ns;
        ns.reserve(1 << 16);
        Loop(call, k, block, seconds, ns);
        code = WriteAll(pipe_fds[1], "ok", 2) && WriteAll(pipe_fds[1], ns.data(), ns.size() * sizeof(int64_t)) ? 0 : 1;
      } catch (const std::exception& e) {
        const std::string message = std::string("error") + e.what();
        (void)WriteAll(pipe_fds[1], message.data(), message.size());
        code = 1;
      }
      close(pipe_fds[1]);
      _exit(code);  // no static destructors, no atexit handlers of the parent's
    }
    close(pipe_fds[1]);
    pids.push_back(pid);
    fds.push_back(pipe_fds[0]);
  }
  std::string failure;
  for (size_t k = 0; k < pids.size(); ++k) {
    const std::string data = ReadAll(fds[k]);
    close(fds[k]);
    int status = 0;
    while (waitpid(pids[k], &status, 0) < 0 && errno == EINTR) {
    }
    if (data.rfind("ok", 0) == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      std::vector<int64_t> ns((data.size() - 2) / sizeof(int64_t));
      std::memcpy(ns.data(), data.data() + 2, ns.size() * sizeof(int64_t));
      samples.Merge(ns);
    } else if (failure.empty()) {
      failure = data.rfind("error", 0) == 0 ? data.substr(5) : "a worker process ended without its results";
    }
  }
  if (!failure.empty()) throw std::runtime_error(failure);
  samples.AddSeconds(seconds);
}

// Threads, each with the caller opened for it; or the calling thread alone for one worker.
void ThreadBlock(const Workload& w, std::vector<Call>& calls, int block, double seconds, Samples& samples) {
  const auto started = Clock::now();
  if (w.workers == 1) {
    std::vector<int64_t> ns;
    Loop(calls[0], 0, block, seconds, ns);
    samples.Merge(ns);
  } else {
    std::vector<std::vector<int64_t>> ns(static_cast<size_t>(w.workers));
    std::vector<std::exception_ptr> errors(static_cast<size_t>(w.workers));
    std::vector<std::thread> threads;
    for (int k = 0; k < w.workers; ++k)
      threads.emplace_back([&, k] {
        try {
          Loop(calls[static_cast<size_t>(k)], k, block, seconds, ns[static_cast<size_t>(k)]);
        } catch (...) {
          errors[static_cast<size_t>(k)] = std::current_exception();
        }
      });
    for (auto& t : threads) t.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
    for (auto& v : ns) samples.Merge(v);
  }
  samples.AddSeconds(std::chrono::duration<double>(Clock::now() - started).count());
}

SideResult Result(const Workload& w, Samples& s) {
  SideResult r;
  r.latency = s.Summarize();
  r.items_per_second = r.latency.calls_per_second * w.items_per_call;
  return r;
}

}  // namespace

WorkloadResult RunWorkload(const Workload& w, int rounds, double block_seconds) {
  std::vector<Call> ours, raw;
  if (!w.processes)
    for (int k = 0; k < w.workers; ++k) {
      ours.push_back(w.open(Side::kConvstore, k));
      raw.push_back(w.open(Side::kRaw, k));
    }
  Samples ours_samples, raw_samples, warm_up;
  int block = 0;
  const auto run = [&](Side side, double seconds, Samples& into) {
    if (w.processes)
      ProcessBlock(w, side, block++, seconds, into);
    else
      ThreadBlock(w, side == Side::kConvstore ? ours : raw, block++, seconds, into);
  };
  run(Side::kConvstore, block_seconds / 4, warm_up);
  run(Side::kRaw, block_seconds / 4, warm_up);
  for (int r = 0; r < rounds; ++r) {
    const bool ours_first = r % 2 == 0;
    run(ours_first ? Side::kConvstore : Side::kRaw, block_seconds, ours_first ? ours_samples : raw_samples);
    run(ours_first ? Side::kRaw : Side::kConvstore, block_seconds, ours_first ? raw_samples : ours_samples);
  }
  return {Result(w, ours_samples), Result(w, raw_samples)};
}

}  // namespace convstore::cli::bench
