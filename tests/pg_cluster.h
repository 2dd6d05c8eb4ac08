// A throw-away PostgreSQL 15 cluster for tests: initdb in a temp directory, listening only on a Unix socket there,
// stopped (immediately) and removed on destruction. As root, PostgreSQL's tools run as the `postgres` user
// (runuser). PostgreSQL comes from scripts/deps.sh (postgresql-15). The server runs in UTC.
//
// Plain C++ (no test framework): the tests and the benchmarks share it. Not thread-safe: one owner; each
// PgSession is used by one thread.
#pragma once
#include <optional>
#include <string>
#include <vector>

struct pg_conn;

namespace convstore::testing {

// Whether PostgreSQL 15's server binaries are installed.
bool PostgresInstalled();

class PgCluster {
 public:
  PgCluster();
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  bool started() const { return started_; }
  const std::string& error() const { return error_; }
  const std::string& socket_dir() const { return dir_; }
  const std::string& port() const { return port_; }

  // A libpq connection string for database `db` as user postgres.
  std::string ConnInfo(const std::string& db = "postgres") const;
  // Creates a fresh database (and returns its name); each test uses its own.
  std::string CreateDatabase(const std::string& name);
  // Runs SQL with psql; returns stdout (unaligned, tuples only); "" after an error (error() and stderr say it).
  std::string Query(const std::string& sql, const std::string& db = "postgres");

  // Stops the server (fast shutdown: sessions are ended) / starts it again.
  bool Stop();
  bool Start();

 private:
  std::string dir_, port_, error_;
  bool started_ = false;
};

// A libpq session for checks in tests.
class PgSession {
 public:
  explicit PgSession(const std::string& conninfo);
  ~PgSession();
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;
  bool ok() const;
  const std::string& error() const { return error_; }
  // Rows of a query (text values, nullopt for NULL); no rows after an error (error() and stderr say it).
  std::vector<std::vector<std::optional<std::string>>> Rows(const std::string& sql);
  // The first value of the first row ("" when none or NULL).
  std::string Value(const std::string& sql);
  // Value without failing the test on an error (nullopt then): for polling.
  std::optional<std::string> TryValue(const std::string& sql);
  // Runs a command; returns the error message ("" on success).
  std::string Exec(const std::string& sql);

 private:
  pg_conn* conn_ = nullptr;
  std::string error_;
};

}  // namespace convstore::testing
