// A store handle's hold on the PostgreSQL of its global budgets (StoreImpl, src/api/global_budgets.cc): the checked
// options, the connection (made on first use, re-made after it is lost), the store's id, and what was admitted on
// the local allowance while PostgreSQL was unreachable (recorded in the ledger when it is back).
//
// Used under StoreImpl::global_mu_ only.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "convstore/sync.h"
#include "sync/pg_connection.h"

namespace convstore::api {

struct GlobalBudgetSession {
  GlobalBudgetOptions options;
  std::unique_ptr<sync::PgConnection> pg;
  std::string store_id;
  NanoUsd offline_admitted_nanousd = 0;     // on the local allowance, since PostgreSQL was last reachable
  std::vector<std::string> offline_requests;  // reservations admitted, settled or released while it was not
  bool reconciled_open = false;  // the ledger's open rows of this store checked against the store (once a handle)

  static Status Check(const GlobalBudgetOptions& options);
};

}  // namespace convstore::api
