#include "util/logging.h"

#include <mutex>
#include <utility>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "convstore/logging.h"

namespace convstore::util {

namespace {

LogLevel FromSpdlog(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return LogLevel::kTrace;
    case spdlog::level::debug: return LogLevel::kDebug;
    case spdlog::level::info: return LogLevel::kInfo;
    case spdlog::level::warn: return LogLevel::kWarn;
    default: return LogLevel::kError;
  }
}

// Standard error, or the handler set by SetLogHandler. base_sink's mutex serialises lines and handler changes.
class SwitchSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  void SetHandler(LogHandler handler) {
    std::lock_guard<std::mutex> lock(mutex_);
    handler_ = std::move(handler);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (!handler_) {
      stderr_->log(msg);
      return;
    }
    try {
      handler_(FromSpdlog(msg.level), std::string_view(msg.payload.data(), msg.payload.size()));
    } catch (...) {  // a handler's failure must not fail the store call that logged
    }
  }
  void flush_() override { stderr_->flush(); }

 private:
  LogHandler handler_;
  std::shared_ptr<spdlog::sinks::stderr_color_sink_st> stderr_ = std::make_shared<spdlog::sinks::stderr_color_sink_st>();
};

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
    l->set_level(spdlog::level::warn);
    spdlog::register_logger(l);
    return l;
  }());
  return **logger;
}

void SetLogLevel(LogLevel level) {
  static constexpr spdlog::level::level_enum kMap[] = {spdlog::level::trace, spdlog::level::debug,
                                                       spdlog::level::info,  spdlog::level::warn,
                                                       spdlog::level::err,   spdlog::level::off};
  Logger().set_level(kMap[static_cast<int>(level)]);
}

}  // namespace convstore::util

namespace convstore {

void SetLogHandler(LogHandler handler) {
  (void)util::Logger();  // created first, so an application's own "convstore" logger is detected as before
  util::Sink()->SetHandler(std::move(handler));
}

}  // namespace convstore
