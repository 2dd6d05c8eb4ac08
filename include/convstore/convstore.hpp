// Umbrella header of the convstore C++ API: the store (store.h) with its capabilities (cost.h: Costs;
// metadata.h: MetadataSearch; ops.h: Operations; sync.h: Sync; audit.h: Audit; monitoring.h: Monitoring;
// retention.h: Retention; privacy.h: Privacy), its options and environment (options.h, env.h), results (status.h) and records.
#ifndef CONVSTORE_CONVSTORE_HPP_
#define CONVSTORE_CONVSTORE_HPP_

#include "convstore/audit.h"
#include "convstore/cost.h"
#include "convstore/env.h"
#include "convstore/limits.h"
#include "convstore/metadata.h"
#include "convstore/monitoring.h"
#include "convstore/ops.h"
#include "convstore/options.h"
#include "convstore/privacy.h"
#include "convstore/retention.h"
#include "convstore/search.h"
#include "convstore/status.h"
#include "convstore/store.h"
#include "convstore/sync.h"
#include "convstore/types.h"
#include "convstore/version.h"

#endif  // CONVSTORE_CONVSTORE_HPP_
