// Umbrella header of the convstore C++ API.
#ifndef CONVSTORE_CONVSTORE_HPP_
#define CONVSTORE_CONVSTORE_HPP_

#include "convstore/limits.h"
#include "convstore/options.h"
#include "convstore/status.h"
#include "convstore/store.h"
#include "convstore/types.h"
#include "convstore/version.h"

#endif  // CONVSTORE_CONVSTORE_HPP_
