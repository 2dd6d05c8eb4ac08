// Users' pseudonymous ids: 32 random hex digits per user, minted the first time something needs to refer to the
// person without their key (an audit entry, an erase that keeps their spend). Random rather than derived from the
// key, so nothing links the id back to the person once their user record is erased.
//
// Stateless functions over the caller's connection and transaction.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "convstore/status.h"
#include "sqlite/connection.h"

namespace convstore::records {

// The user's pseudonymous id, minted (and stored) when it has none yet.
Result<std::string> PseudonymOf(sqlite::Connection& conn, int64_t user_id, int64_t now);
// The pseudonymous id of the user with `key`; nullopt when there is no such user or it has none yet.
Result<std::optional<std::string>> FindPseudonymOfKey(sqlite::Connection& conn, std::string_view key);

}  // namespace convstore::records
