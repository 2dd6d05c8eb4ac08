#include "util/logging.h"

#include <iterator>
#include <memory>
#include <mutex>
#include <utility>

#include <spdlog/sinks/sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "convstore/logging.h"

namespace convstore::util {

namespace {

// spdlog's level for each LogLevel, in LogLevel's order: the one mapping, used both ways.
constexpr spdlog::level::level_enum kSpdlogLevels[] = {spdlog::level::trace, spdlog::level::debug,
                                                       spdlog::level::info,  spdlog::level::warn,
                                                       spdlog::level::err,   spdlog::level::off};
static_assert(std::size(kSpdlogLevels) == static_cast<size_t>(LogLevel::kOff) + 1, "one spdlog level per LogLevel");

LogLevel FromSpdlog(spdlog::level::level_enum level) {
  for (size_t i = 0; i < static_cast<size_t>(LogLevel::kOff); ++i)
    if (kSpdlogLevels[i] == level) return static_cast<LogLevel>(i);
  return LogLevel::kError;  // critical: convstore does not log at it
}

// Standard error, or the handler set by SetLogHandler.
//
// No lock is held while the handler runs: a handler may take locks of its own (Python's logging does) that another
// thread holds while it calls convstore, which logs; holding ours across the call would deadlock the two. So the
// handler may run on several threads at once. A line logged from inside the handler on the same thread (the handler
// called convstore, or a Python finalizer closed a store) goes to standard error instead of re-entering it.
class SwitchSink final : public spdlog::sinks::sink {
 public:
  void SetHandler(LogHandler handler) {
    auto next = handler ? std::make_shared<const LogHandler>(std::move(handler)) : nullptr;
    std::lock_guard<std::mutex> lock(mu_);
    handler_ = std::move(next);
  }

  void log(const spdlog::details::log_msg& msg) override {
    std::shared_ptr<const LogHandler> handler;
    {
      std::lock_guard<std::mutex> lock(mu_);
      handler = handler_;
    }
    if (!handler || in_handler_) {
      stderr_->log(msg);
      return;
    }
    in_handler_ = true;
    try {
      (*handler)(FromSpdlog(msg.level), std::string_view(msg.payload.data(), msg.payload.size()));
    } catch (...) {  // a handler's failure must not fail the store call that logged
    }
    in_handler_ = false;
  }
  void flush() override { stderr_->flush(); }
  void set_pattern(const std::string& pattern) override { stderr_->set_pattern(pattern); }
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    stderr_->set_formatter(std::move(formatter));
  }

 private:
  static thread_local bool in_handler_;
  std::mutex mu_;
  std::shared_ptr<const LogHandler> handler_;
  // spdlog's console sink: its mutex keeps our lines whole next to the application's own console logging.
  std::shared_ptr<spdlog::sinks::stderr_color_sink_mt> stderr_ = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
};

thread_local bool SwitchSink::in_handler_ = false;

// Never destroyed: a store closed from an atexit handler or a static destructor still logs safely after the
// static objects (spdlog's registry included) have gone.
const std::shared_ptr<SwitchSink>& Sink() {
  static auto* sink = new std::shared_ptr<SwitchSink>(std::make_shared<SwitchSink>());
  return *sink;
}

}  // namespace

spdlog::logger& Logger() {
  // Never destroyed, like the sink.
  static auto* logger = new std::shared_ptr<spdlog::logger>([] {
    auto existing = spdlog::get("convstore");
    if (existing) return existing;
    auto l = std::make_shared<spdlog::logger>("convstore", Sink());
    spdlog::initialize_logger(l);  // registered, with the application's global spdlog settings
    l->set_level(spdlog::level::warn);
    return l;
  }());
  return **logger;
}

void SetLogLevel(LogLevel level) {
  Logger().set_level(kSpdlogLevels[static_cast<size_t>(level)]);
}

}  // namespace convstore::util

namespace convstore {

void SetLogHandler(LogHandler handler) {
  (void)util::Logger();  // created first, so an application's own "convstore" logger is detected as before
  util::Sink()->SetHandler(std::move(handler));
}

}  // namespace convstore
