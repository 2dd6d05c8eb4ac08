// The "convstore" spdlog logger, shared by every store in the process.
#pragma once
#include <memory>

#include <spdlog/spdlog.h>

#include "convstore/options.h"

namespace convstore::util {
// Thread-safe; created on first use, writing to stderr.
spdlog::logger& Logger();
void SetLogLevel(LogLevel level);
}  // namespace convstore::util
