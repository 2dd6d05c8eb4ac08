// Teams and users: their rows, keyed by the caller's own key.
//
// Functions take the connection of the caller's transaction; none opens one. Not thread-safe beyond that
// connection's own rules.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include "convstore/status.h"
#include "convstore/types.h"
#include "sqlite/connection.h"

namespace convstore::records {

// Input checks (no database access): each names the offending field.
Status ValidateTeam(const TeamInput& team);
Status ValidateUser(const UserInput& user);

// Inserts the team or updates the fields `team` sets.
Status UpsertTeam(sqlite::Connection& conn, const TeamInput& team, int64_t now);
// Inserts the user or updates the fields `user` sets; a non-empty team_key must name an existing team
// (kNotFound otherwise).
Status UpsertUser(sqlite::Connection& conn, const UserInput& user, int64_t now);

// kNotFound naming the key when missing.
Result<Team> SelectTeam(sqlite::Connection& conn, std::string_view key);
Result<User> SelectUser(sqlite::Connection& conn, std::string_view key);

}  // namespace convstore::records
