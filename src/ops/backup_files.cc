#include "ops/backup_files.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ops/journal.h"
#include "ops/journal_tables.h"
#include "util/status_macros.h"

namespace convstore::ops {

std::string ManifestPathOf(const std::string& backup_path) { return backup_path + ".manifest.json"; }

std::string EncodeManifest(const BackupManifest& m) {
  nlohmann::ordered_json j;
  j["format"] = m.format;
  j["schema_version"] = m.schema_version;
  j["journal_seq"] = m.journal_seq;
  j["created_at_us"] = m.created_at;
  j["duration_us"] = m.duration_us;
  j["bytes"] = m.bytes;
  j["sha256"] = m.sha256;
  j["database_sha256"] = m.database_sha256;
  j["encrypted"] = m.encrypted;
  nlohmann::ordered_json counts = nlohmann::ordered_json::object();
  for (const auto& [table, n] : m.row_counts) counts[table] = n;
  j["row_counts"] = counts;
  j["cost_nanousd"] = m.cost_nanousd;
  j["convstore_version"] = m.convstore_version;
  return j.dump(2) + "\n";
}

Result<BackupManifest> DecodeManifest(std::string_view text) {
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("the manifest is not a JSON object");
  BackupManifest m;
  auto integer = [&](const char* key, auto* out) -> Status {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return Status::Corruption(fmt::format("manifest: {} is missing or not an integer", key));
    *out = it->template get<std::decay_t<decltype(*out)>>();
    return Status::OK();
  };
  auto text_field = [&](const char* key, std::string* out) -> Status {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return Status::Corruption(fmt::format("manifest: {} is missing or not a string", key));
    *out = it->get<std::string>();
    return Status::OK();
  };
  CONVSTORE_RETURN_IF_ERROR(integer("format", &m.format));
  if (m.format != kBackupFormat)
    return Status::Corruption(fmt::format("manifest format {} is not known to this build (it knows {})", m.format,
                                          kBackupFormat));
  CONVSTORE_RETURN_IF_ERROR(integer("schema_version", &m.schema_version));
  CONVSTORE_RETURN_IF_ERROR(integer("journal_seq", &m.journal_seq));
  CONVSTORE_RETURN_IF_ERROR(integer("created_at_us", &m.created_at));
  CONVSTORE_RETURN_IF_ERROR(integer("duration_us", &m.duration_us));
  CONVSTORE_RETURN_IF_ERROR(integer("bytes", &m.bytes));
  CONVSTORE_RETURN_IF_ERROR(text_field("sha256", &m.sha256));
  CONVSTORE_RETURN_IF_ERROR(text_field("database_sha256", &m.database_sha256));
  auto enc = j.find("encrypted");
  if (enc == j.end() || !enc->is_boolean()) return Status::Corruption("manifest: encrypted is missing or not a boolean");
  m.encrypted = enc->get<bool>();
  auto counts = j.find("row_counts");
  if (counts == j.end() || !counts->is_object()) return Status::Corruption("manifest: row_counts is missing");
  for (auto it = counts->begin(); it != counts->end(); ++it) {
    if (!it.value().is_number_integer()) return Status::Corruption("manifest: a row count is not an integer");
    m.row_counts.emplace_back(it.key(), it.value().get<int64_t>());
  }
  CONVSTORE_RETURN_IF_ERROR(integer("cost_nanousd", &m.cost_nanousd));
  CONVSTORE_RETURN_IF_ERROR(text_field("convstore_version", &m.convstore_version));
  return m;
}

Status ReadDatabaseFacts(sqlite::Connection& conn, BackupManifest* facts) {
  auto version = conn.QueryInt("SELECT coalesce(max(version), 0) FROM schema_migrations", "read the schema version");
  if (!version.ok()) return version.status();
  facts->schema_version = static_cast<int>(version->value_or(0));
  auto has_journal = HasJournal(conn);
  if (!has_journal.ok()) return has_journal.status();
  facts->journal_seq = 0;
  if (*has_journal) {
    auto seq = LastSeq(conn);
    if (!seq.ok()) return seq.status();
    facts->journal_seq = *seq;
  }
  facts->row_counts.clear();
  std::string cost_sql;
  for (std::string_view table : JournaledTables()) {
    auto exists = conn.QueryInt("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                                "inspect the schema", table);
    if (!exists.ok()) return exists.status();
    if (exists->value_or(0) == 0) continue;  // not in an older schema
    auto n = conn.QueryIntUncached(fmt::format("SELECT count(*) FROM \"{}\"", table), "count rows");
    if (!n.ok()) return n.status();
    facts->row_counts.emplace_back(std::string(table), n->value_or(0));
    if (table == "messages" || table == "message_tombstones" || table == "api_usage")
      cost_sql += fmt::format("{}(SELECT coalesce(sum(cost_nanousd), 0) FROM \"{}\")", cost_sql.empty() ? "" : " + ", table);
  }
  facts->cost_nanousd = 0;
  if (!cost_sql.empty()) {
    auto cost = conn.QueryIntUncached("SELECT " + cost_sql, "sum the costs");
    if (!cost.ok()) return cost.status();
    facts->cost_nanousd = cost->value_or(0);
  }
  return Status::OK();
}

}  // namespace convstore::ops
