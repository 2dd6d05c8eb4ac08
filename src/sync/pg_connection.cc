#include "sync/pg_connection.h"

#include <libpq-fe.h>

#include <charconv>
#include <cstring>

#include "util/status_macros.h"

namespace convstore::sync {
namespace {

// The server's message without libpq's "ERROR:  " / "FATAL:  " prefix and trailing newline.
std::string Trimmed(std::string_view message) {
  for (std::string_view prefix : {"ERROR:  ", "FATAL:  "})
    if (message.substr(0, prefix.size()) == prefix) message.remove_prefix(prefix.size());
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.remove_suffix(1);
  std::string out(message);
  for (char& c : out)
    if (c == '\n') c = ' ';
  return out;
}

bool Contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

// What the connection string names (for messages before a connection exists): "database D on H as user U".
std::string DescribeConninfo(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (error != nullptr) PQfreemem(error);
  if (options == nullptr) return "PostgreSQL";
  std::string db, host, user, port;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (std::strcmp(o->keyword, "dbname") == 0) db = o->val;
    if (std::strcmp(o->keyword, "host") == 0) host = o->val;
    if (std::strcmp(o->keyword, "user") == 0) user = o->val;
    if (std::strcmp(o->keyword, "port") == 0) port = o->val;
  }
  PQconninfoFree(options);
  std::string out = "PostgreSQL database " + (db.empty() ? std::string("(default)") : db);
  out += " on " + (host.empty() ? std::string("the default host") : host) + (port.empty() ? "" : ":" + port);
  if (!user.empty()) out += " as user " + user;
  return out;
}

}  // namespace

Status StatusForSqlstate(std::string_view sqlstate, std::string message) {
  const std::string_view cls = sqlstate.substr(0, 2);
  if (cls == "08" || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03" || sqlstate == "53300")
    return Status::Unavailable(std::move(message));
  if (cls == "28" || cls == "22" || cls == "23" || sqlstate == "3D000") return Status::InvalidArgument(std::move(message));
  if (cls == "40" || sqlstate == "55P03") return Status::Busy(std::move(message));
  if (sqlstate == "42501") return Status::ReadOnly(std::move(message));
  if (cls == "42") return Status::Conflict(std::move(message));
  if (cls == "53") return Status::IoError(std::move(message));
  return Status::Internal(std::move(message));
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

PgRows::~PgRows() {
  if (result_ != nullptr) PQclear(result_);
}
int PgRows::rows() const { return result_ == nullptr ? 0 : PQntuples(result_); }
std::optional<std::string_view> PgRows::Get(int row, int column) const {
  if (result_ == nullptr || row >= PQntuples(result_) || column >= PQnfields(result_) ||
      PQgetisnull(result_, row, column))
    return std::nullopt;
  return std::string_view(PQgetvalue(result_, row, column), static_cast<size_t>(PQgetlength(result_, row, column)));
}
int64_t PgRows::Int(int row, int column, int64_t fallback) const {
  auto v = Get(row, column);
  if (!v) return fallback;
  int64_t out = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  return ec == std::errc() && end == v->data() + v->size() ? out : fallback;
}
int64_t PgRows::affected() const {
  if (result_ == nullptr) return 0;
  const char* n = PQcmdTuples(result_);
  return n == nullptr || *n == '\0' ? 0 : std::strtoll(n, nullptr, 10);
}

Status CheckConnectionString(const std::string& conninfo) {
  if (conninfo.empty())
    return Status::InvalidArgument("a PostgreSQL connection string is required (e.g. postgresql://user@host/db)");
  if (conninfo.find('\0') != std::string::npos)
    return Status::InvalidArgument("the PostgreSQL connection string contains a NUL byte");
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &error);
  if (parsed == nullptr) {
    std::string why = error != nullptr ? Trimmed(error) : "out of memory";
    if (error != nullptr) PQfreemem(error);
    return Status::InvalidArgument("bad PostgreSQL connection string: " + why);
  }
  PQconninfoFree(parsed);
  return Status::OK();
}

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& conninfo) {
  if (Status s = CheckConnectionString(conninfo); !s.ok()) return s;
  // Earlier keywords are defaults the connection string (expanded at "dbname") may override; later ones are forced.
  // Keepalives on both sides: a connection lost without a word (a network cut) is noticed within about a minute,
  // by this client and by the server, which then ends the old session and its advisory locks.
  const char* keywords[] = {"connect_timeout", "fallback_application_name", "keepalives_idle", "keepalives_interval",
                            "keepalives_count", "options", "dbname", "client_encoding", nullptr};
  const char* values[] = {"10", "convstore", "30", "10", "3",
                          "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3",
                          conninfo.c_str(), "UTF8", nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, 1);
  if (conn == nullptr) return Status::Internal("out of memory connecting to PostgreSQL");
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string why = Trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    const std::string who = DescribeConninfo(conninfo);
    if (Contains(why, "authentication failed") || Contains(why, "no password supplied") ||
        Contains(why, "no pg_hba.conf entry") || Contains(why, "does not exist") ||
        Contains(why, "permission denied") || Contains(why, "not permitted to log in"))
      return Status::InvalidArgument(who + " refused the login: " + why);
    if (Contains(why, "invalid ") && !Contains(why, "could not connect"))
      return Status::InvalidArgument("bad PostgreSQL connection string: " + why);
    return Status::Unavailable("cannot reach " + who + ": " + why);
  }
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::PgConnection(pg_conn* conn) : conn_(conn) {
  const char* host = PQhost(conn_);
  const char* port = PQport(conn_);
  description_ = std::string("PostgreSQL database ") + PQdb(conn_) + " on " + (host ? host : "?") +
                 (port && *port ? std::string(":") + port : "") + " as user " + PQuser(conn_);
}

PgConnection::~PgConnection() { PQfinish(conn_); }

int PgConnection::server_version() const { return PQserverVersion(conn_); }
bool PgConnection::healthy() const { return PQstatus(conn_) == CONNECTION_OK; }

Status PgConnection::ConnectionError(std::string_view what) {
  sqlstate_.clear();
  const std::string why = Trimmed(PQerrorMessage(conn_));
  if (PQstatus(conn_) != CONNECTION_OK)
    return Status::Unavailable("lost the connection to " + description_ + " (" + std::string(what) + "): " + why);
  return Status::Internal(std::string(what) + " on " + description_ + ": " + why);
}

Status PgConnection::ResultError(pg_result* result, std::string_view what) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  if (state == nullptr) {
    if (result != nullptr) PQclear(result);
    return ConnectionError(what);
  }
  sqlstate_ = state;
  std::string message = Trimmed(PQresultErrorMessage(result));
  PQclear(result);
  return StatusForSqlstate(sqlstate_, std::string(what) + " on " + description_ + ": " + message + " (SQLSTATE " +
                                          sqlstate_ + ")");
}

Status PgConnection::Exec(std::string_view sql) {
  const std::string text(sql);
  PGresult* r = PQexec(conn_, text.c_str());
  const ExecStatusType st = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return ResultError(r, "a statement failed");
  PQclear(r);
  sqlstate_.clear();
  return Status::OK();
}

Result<PgRows> PgConnection::Query(const std::string& sql, const PgParams& params) {
  std::vector<const char*> values(params.size());
  for (size_t i = 0; i < params.size(); ++i) values[i] = params[i] ? params[i]->c_str() : nullptr;
  std::vector<int> lengths(params.size());
  for (size_t i = 0; i < params.size(); ++i) lengths[i] = params[i] ? static_cast<int>(params[i]->size()) : 0;
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "cs" + std::to_string(prepared_.size() + 1);
    PGresult* p = PQprepare(conn_, name.c_str(), sql.c_str(), static_cast<int>(params.size()), nullptr);
    if (p == nullptr || PQresultStatus(p) != PGRES_COMMAND_OK) return ResultError(p, "preparing a statement failed");
    PQclear(p);
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  PGresult* r = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(params.size()), values.data(),
                               lengths.data(), nullptr, 0);
  const ExecStatusType st = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return ResultError(r, "a statement failed");
  sqlstate_.clear();
  return PgRows(r);
}

Result<int64_t> PgConnection::Run(const std::string& sql, const PgParams& params) {
  auto rows = Query(sql, params);
  if (!rows.ok()) return rows.status();
  return rows->affected();
}

Status PgConnection::CopyBegin(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  if (r == nullptr || PQresultStatus(r) != PGRES_COPY_IN) return ResultError(r, "starting COPY failed");
  PQclear(r);
  return Status::OK();
}

Status PgConnection::CopyPut(std::string_view data) {
  if (data.empty()) return Status::OK();
  if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1) return ConnectionError("COPY");
  return Status::OK();
}

Status PgConnection::CopyEnd() {
  if (PQputCopyEnd(conn_, nullptr) != 1) return ConnectionError("ending COPY");
  Status status;
  while (PGresult* r = PQgetResult(conn_)) {
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      if (status.ok()) status = ResultError(r, "COPY failed");
      else PQclear(r);
      continue;
    }
    PQclear(r);
  }
  if (status.ok() && PQstatus(conn_) != CONNECTION_OK) return ConnectionError("COPY");
  if (status.ok()) sqlstate_.clear();
  return status;
}

}  // namespace convstore::sync
