#include "util/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace convstore::util {

spdlog::logger& Logger() {
  // Never destroyed: a store closed from an atexit handler or a static destructor still logs safely after the
  // static objects (spdlog's registry included) have gone.
  static auto* logger = new std::shared_ptr<spdlog::logger>([] {
    auto existing = spdlog::get("convstore");
    if (existing) return existing;
    auto l = spdlog::stderr_color_mt("convstore");
    l->set_level(spdlog::level::warn);
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
