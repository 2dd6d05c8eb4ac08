#include "pg_cluster.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace convstore::testing {
namespace {

namespace fs = std::filesystem;
const char* kPgBin = "/usr/lib/postgresql/15/bin";

// Runs a shell command (as postgres when we are root); returns its exit status and fills `out` with its output.
int Run(const std::string& command, std::string* out = nullptr) {
  std::string full = geteuid() == 0 ? "runuser -u postgres -- " + command : command;
  FILE* p = popen((full + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  int rc = pclose(p);
  if (out) *out = std::move(text);
  return rc;
}

}  // namespace

bool PostgresInstalled() { return fs::exists(std::string(kPgBin) + "/initdb"); }

PgCluster::PgCluster() {
  char tmpl[] = "/tmp/convstore-pg-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return;
  dir_ = tmpl;
  if (geteuid() == 0 && std::system(("chown postgres " + dir_).c_str()) != 0) return;
  static int clusters = 0;  // of this process: each its own port
  port_ = std::to_string(20000 + (getpid() * 7 + clusters++) % 20000);
  std::string log;
  if (Run(std::string(kPgBin) + "/initdb -D " + dir_ + "/data -E UTF8 --locale=C.UTF-8 -A trust -U postgres", &log) !=
      0) {
    error_ = "initdb failed: " + log;
    return;
  }
  // Small and quick: the tests' data is small, and fsync would only slow them down.
  std::ofstream(dir_ + "/data/postgresql.conf", std::ios::app)
      << "\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\ntimezone = 'UTC'\n"
      << "max_connections = 60\nshared_buffers = 64MB\n";
  started_ = Start();
}

PgCluster::~PgCluster() {
  if (started_) Run(std::string(kPgBin) + "/pg_ctl -D " + dir_ + "/data -m immediate stop");
  if (!dir_.empty()) fs::remove_all(dir_);
}

bool PgCluster::Start() {
  std::string log;
  if (Run(std::string(kPgBin) + "/pg_ctl -D " + dir_ + "/data -w -l " + dir_ + "/log -o \"-c listen_addresses='' -k " +
              dir_ + " -p " + port_ + "\" start",
          &log) != 0) {
    error_ = "pg_ctl start failed: " + log;
    return false;
  }
  started_ = true;
  return true;
}

bool PgCluster::Stop() {
  std::string log;
  const bool ok = Run(std::string(kPgBin) + "/pg_ctl -D " + dir_ + "/data -w -m fast stop", &log) == 0;
  if (!ok) error_ = "pg_ctl stop failed: " + log;
  return ok;
}

std::string PgCluster::ConnInfo(const std::string& db) const {
  return "host=" + dir_ + " port=" + port_ + " user=postgres dbname=" + db;
}

std::string PgCluster::CreateDatabase(const std::string& name) {
  Query("CREATE DATABASE " + name + ";\n");
  return name;
}

std::string PgCluster::Query(const std::string& sql, const std::string& db) {
  std::string file = dir_ + "/query.sql";
  std::ofstream(file) << sql;
  if (geteuid() == 0) (void)std::system(("chown postgres " + file).c_str());
  std::string out;
  int rc = Run("psql -X -q -At -v ON_ERROR_STOP=1 -h " + dir_ + " -p " + port_ + " -U postgres -d " + db + " -f " + file,
               &out);
  if (rc != 0) {
    error_ = "psql failed: " + out;
    std::fprintf(stderr, "%s\n", error_.c_str());
    return "";
  }
  return out;
}

PgSession::PgSession(const std::string& conninfo) {
  conn_ = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn_) != CONNECTION_OK) error_ = PQerrorMessage(conn_);
}
PgSession::~PgSession() { PQfinish(conn_); }
bool PgSession::ok() const { return PQstatus(conn_) == CONNECTION_OK; }

std::vector<std::vector<std::optional<std::string>>> PgSession::Rows(const std::string& sql) {
  std::vector<std::vector<std::optional<std::string>>> out;
  PGresult* r = PQexec(conn_, sql.c_str());
  if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
    error_ = sql + ": " + PQresultErrorMessage(r);
    std::fprintf(stderr, "%s\n", error_.c_str());
    PQclear(r);
    return out;
  }
  for (int i = 0; i < PQntuples(r); ++i) {
    std::vector<std::optional<std::string>> row;
    for (int j = 0; j < PQnfields(r); ++j)
      row.push_back(PQgetisnull(r, i, j) ? std::nullopt
                                         : std::optional<std::string>(std::string(PQgetvalue(r, i, j),
                                                                                  PQgetlength(r, i, j))));
    out.push_back(std::move(row));
  }
  PQclear(r);
  return out;
}

std::string PgSession::Value(const std::string& sql) {
  auto rows = Rows(sql);
  return rows.empty() || rows[0].empty() || !rows[0][0] ? "" : *rows[0][0];
}

std::optional<std::string> PgSession::TryValue(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  std::optional<std::string> out;
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) out = PQgetvalue(r, 0, 0);
  PQclear(r);
  return out;
}

std::string PgSession::Exec(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  std::string error;
  if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) error = PQresultErrorMessage(r);
  PQclear(r);
  return error;
}

}  // namespace convstore::testing
