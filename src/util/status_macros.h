// CONVSTORE_RETURN_IF_ERROR: the early return every layer uses with Status-returning calls.
#pragma once
#include "convstore/status.h"

// Evaluates a Status expression and returns it from the enclosing function when not OK.
#define CONVSTORE_RETURN_IF_ERROR(expr)               \
  do {                                                \
    ::convstore::Status _cs_status = (expr);          \
    if (!_cs_status.ok()) return _cs_status;          \
  } while (0)
