// PgConnection: one libpq connection to PostgreSQL, with the error mapping the sync and the global budgets share.
//
// Errors become Status codes by what a caller can do about them: a server that cannot be reached or went away
// (connection refused, a restart, SQLSTATE class 08 and 57P0x) is kUnavailable — retry later; a connection string
// libpq cannot parse, or a login the server refuses (class 28, an unknown role or database), is kInvalidArgument;
// a row the server refuses (classes 22 and 23) is kInvalidArgument with the SQLSTATE kept in sqlstate(); a
// serialization failure or deadlock (class 40) is kBusy; a missing privilege (42501) is kReadOnly; a schema that
// is not what convstore made (other class 42 errors) is kConflict; a server out of space or memory (class 53) is
// kIoError. Messages name the server as "database D on H as user U" and never include a password.
//
// Not thread-safe: one thread at a time. Owns the PGconn and closes it when destroyed.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "convstore/status.h"

struct pg_conn;
struct pg_result;

namespace convstore::sync {

// The rows of a query, owned (PQclear when destroyed). Values are text; nullopt for SQL NULL.
class PgRows {
 public:
  explicit PgRows(pg_result* result) : result_(result) {}
  ~PgRows();
  PgRows(PgRows&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  PgRows& operator=(PgRows&&) = delete;
  PgRows(const PgRows&) = delete;

  int rows() const;
  std::optional<std::string_view> Get(int row, int column) const;
  // The value as an integer; `fallback` for NULL or text that is not one.
  int64_t Int(int row, int column, int64_t fallback = 0) const;
  // Rows affected by an INSERT, UPDATE or DELETE.
  int64_t affected() const;

 private:
  pg_result* result_;
};

using PgParams = std::vector<std::optional<std::string>>;

class PgConnection {
 public:
  // Connects with a libpq connection string or URI ("postgresql://user@host/db", "host=/run/pg dbname=x").
  // Defaults the string may override: connect_timeout 10 s, TCP keepalives after 30 s idle on both sides (so a
  // silently lost connection ends within about a minute); the client encoding is UTF-8.
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // "database D on H as user U": names the server in messages (no password).
  const std::string& describe() const { return description_; }
  // The server's version (e.g. 150018).
  int server_version() const;
  // False once the connection is lost: the owner reconnects.
  bool healthy() const;

  // Runs one or more statements without parameters or results.
  Status Exec(std::string_view sql);
  // Runs one statement with text parameters ($1, $2, ...). A statement run with the same text again reuses its
  // server-side prepared statement (a cache per connection).
  Result<PgRows> Query(const std::string& sql, const PgParams& params = {});
  // Query for statements without results; returns the rows affected.
  Result<int64_t> Run(const std::string& sql, const PgParams& params = {});

  // COPY ... FROM STDIN in text format: Begin, any number of Put (the caller chunks; each call sends its bytes),
  // End. An error ends the copy (and the caller's transaction is then aborted).
  Status CopyBegin(const std::string& sql);
  Status CopyPut(std::string_view data);
  Status CopyEnd();

  // The SQLSTATE of the last failed statement ("" after success or for a client-side failure).
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  explicit PgConnection(pg_conn* conn);
  Status ResultError(pg_result* result, std::string_view what);
  Status ConnectionError(std::string_view what);

  pg_conn* conn_;
  std::string description_;
  std::string sqlstate_;
  std::unordered_map<std::string, std::string> prepared_;  // statement text -> prepared statement name
};

// Whether libpq can parse `conninfo` (a connection string or URI): kInvalidArgument naming what it cannot.
Status CheckConnectionString(const std::string& conninfo);

// A Status for an SQLSTATE and the server's message (the mapping above).
Status StatusForSqlstate(std::string_view sqlstate, std::string message);

// Quotes an SQL identifier ("name", doubled quotes inside).
std::string QuoteIdentifier(std::string_view name);

}  // namespace convstore::sync
