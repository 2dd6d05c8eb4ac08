// PeriodicTask: runs a function on its own thread, at once (or, with start_at_once false, after one interval) and
// then every interval (measured from the start of each run), until stopped.
//
// Thread-safe. Owns its thread: Stop (or the destructor) wakes it, waits for a run in progress and joins it.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace convstore::api {

class PeriodicTask {
 public:
  PeriodicTask(int64_t interval_us, std::function<void()> run, bool start_at_once = true)
      : interval_(interval_us), run_(std::move(run)), wait_first_(!start_at_once) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~PeriodicTask() { Stop(); }
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  // Idempotent.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    if (wait_first_) wake_.wait_for(lock, interval_, [this] { return stop_; });
    while (!stop_) {
      lock.unlock();
      const auto started = std::chrono::steady_clock::now();
      run_();
      lock.lock();
      wake_.wait_until(lock, started + interval_, [this] { return stop_; });
    }
  }

  const std::chrono::microseconds interval_;
  const std::function<void()> run_;
  const bool wait_first_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest is set up
};

}  // namespace convstore::api
