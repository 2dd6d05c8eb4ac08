// A progress bar on standard error when it is a terminal (nothing otherwise), for the C ABI's progress callback.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace convstore::cli {

class ProgressBar {
 public:
  ProgressBar() : enabled_(::isatty(STDERR_FILENO) == 1) {}
  ~ProgressBar() { Finish(); }

  // convstore_progress_fn: user_data is the ProgressBar.
  static void Callback(void* user_data, const char* phase, int64_t done, int64_t total) {
    static_cast<ProgressBar*>(user_data)->Show(phase, done, total);
  }

  void Show(const char* phase, int64_t done, int64_t total) {
    if (!enabled_ || total <= 0) return;
    const int width = 30;
    const int filled = static_cast<int>(width * (done > total ? total : done) / total);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(width, ' ');
    std::fprintf(stderr, "\r%-18s [%s] %3d%%", phase, bar.c_str(), static_cast<int>(100 * done / total));
    std::fflush(stderr);
    shown_ = true;
  }

  void Finish() {
    if (shown_) std::fprintf(stderr, "\r%60s\r", "");
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
};

}  // namespace convstore::cli
