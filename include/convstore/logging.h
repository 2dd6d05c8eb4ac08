// Where the library's log lines go.
//
// By default they are written to standard error through the spdlog logger named "convstore" (levels from
// Options::log_level; warnings and errors unless a store asks for more). SetLogHandler sends each line to a
// function instead: the Python package uses it to hand the lines to Python's `logging` (logger "convstore").
//
// Thread-safety: process-wide and thread-safe. The handler is called from whichever thread logs (any thread that
// calls a store), with no convstore lock held, so it may run on several threads at once and must be thread-safe;
// it should return promptly. A line logged while the same thread is inside the handler (the handler called
// convstore) goes to standard error instead. An exception it throws is caught and dropped. After SetHandler
// returns, a call already under way may still finish on the previous handler. If the application registered its own spdlog logger named
// "convstore" before the first store was opened, that logger's sinks decide and the handler is not called.
#ifndef CONVSTORE_LOGGING_H_
#define CONVSTORE_LOGGING_H_

#include <functional>
#include <string_view>

#include "convstore/export.h"
#include "convstore/options.h"

namespace convstore {

// One log line: its level (never kOff) and its text, valid only during the call.
using LogHandler = std::function<void(LogLevel level, std::string_view message)>;

// Replaces the destination of every store's log lines; an empty handler restores standard error.
CONVSTORE_EXPORT void SetLogHandler(LogHandler handler);

}  // namespace convstore

#endif  // CONVSTORE_LOGGING_H_
