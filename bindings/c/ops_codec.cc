#include "ops_codec.h"

#include "json_fields.h"

namespace convstore::capi {

namespace {

const char* OpName(ChangeOp op) {
  switch (op) {
    case ChangeOp::kInsert: return "insert";
    case ChangeOp::kUpdate: return "update";
    default: return "delete";
  }
}

}  // namespace

const char* JournalEntryKindName(JournalEntryKind kind) {
  switch (kind) {
    case JournalEntryKind::kChanges: return "changes";
    case JournalEntryKind::kForeignWrite: return "foreign_write";
    case JournalEntryKind::kJournalOff: return "journal_off";
    case JournalEntryKind::kJournalOn: return "journal_on";
    case JournalEntryKind::kSchemaMigration: return "schema_migration";
    case JournalEntryKind::kErasure: return "erasure";
    default: return "restored";
  }
}

Result<JournalQuery> DecodeJournalQuery(std::string_view text) {
  return DecodeObject<JournalQuery>(text, "journal query", [](Fields& f, JournalQuery& q) -> Status {
    std::optional<int64_t> after, limit;
    std::optional<bool> decode;
    CONVSTORE_RETURN_IF_ERROR(f.Int("after_seq", after));
    CONVSTORE_RETURN_IF_ERROR(f.Time("since", q.since));
    CONVSTORE_RETURN_IF_ERROR(f.Time("until", q.until));
    CONVSTORE_RETURN_IF_ERROR(f.Int("limit", limit));
    CONVSTORE_RETURN_IF_ERROR(f.Bool("decode", decode));
    if (after) q.after_seq = *after;
    if (limit) q.limit = *limit;
    if (decode) q.decode = *decode;
    return Status::OK();
  });
}

Result<JournalRetention> DecodeJournalRetention(std::string_view text) {
  return DecodeObject<JournalRetention>(text, "journal retention", [](Fields& f, JournalRetention& r) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Int("max_age_us", r.max_age_us));
    return f.Int("max_bytes", r.max_bytes);
  });
}

std::string EncodeJournalEntries(const std::vector<JournalEntry>& entries) {
  JsonWriter w;
  w.BeginArray();
  for (const JournalEntry& e : entries) {
    w.BeginObject();
    w.Key("seq").Int(e.seq);
    WriteTime(w, "committed_at", e.committed_at);
    w.Key("kind").String(JournalEntryKindName(e.kind));
    w.Key("schema_version").Int(e.schema_version);
    w.Key("bytes").Int(e.bytes);
    w.Key("changes").BeginArray();
    for (const JournalChange& c : e.changes) {
      w.BeginObject();
      w.Key("table").String(c.table);
      w.Key("op").String(OpName(c.op));
      w.Key("key").Raw(c.key_json);
      w.Key("old");
      if (c.old_json.empty()) w.Null();
      else w.Raw(c.old_json);
      w.Key("new");
      if (c.new_json.empty()) w.Null();
      else w.Raw(c.new_json);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  return w.Take();
}

std::string EncodeJournalStatus(const JournalStatus& s) {
  JsonWriter w;
  WriteJournalStatus(w, s);
  return w.Take();
}

void WriteJournalStatus(JsonWriter& w, const JournalStatus& s) {
  w.BeginObject();
  w.Key("enabled").Bool(s.enabled);
  w.Key("entries").Int(s.entries);
  w.Key("first_seq").Int(s.first_seq);
  w.Key("last_seq").Int(s.last_seq);
  w.Key("oldest_at");
  if (s.entries == 0) w.Null();
  else w.Int(s.oldest_at);
  w.Key("newest_at");
  if (s.entries == 0) w.Null();
  else w.Int(s.newest_at);
  w.Key("bytes").Int(s.bytes);
  w.Key("markers").Int(s.markers);
  w.Key("last_marker_seq").Int(s.last_marker_seq);
  w.Key("retention").BeginObject();
  w.Key("max_age_us");
  if (s.retention.max_age_us) w.Int(*s.retention.max_age_us);
  else w.Null();
  w.Key("max_bytes");
  if (s.retention.max_bytes) w.Int(*s.retention.max_bytes);
  else w.Null();
  w.EndObject();
  w.Key("consumers").BeginArray();
  for (const JournalConsumer& c : s.consumers) {
    w.BeginObject();
    w.Key("name").String(c.name);
    w.Key("seq").Int(c.seq);
    w.Key("updated_at").Int(c.updated_at);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

std::string EncodeJournalDescriptions(const std::vector<JournalDescription>& entries) {
  JsonWriter w;
  w.BeginArray();
  for (const JournalDescription& e : entries) {
    w.BeginObject();
    w.Key("seq").Int(e.seq);
    WriteTime(w, "committed_at", e.committed_at);
    w.Key("kind").String(JournalEntryKindName(e.kind));
    w.Key("lines").BeginArray();
    for (const auto& line : e.lines) w.String(line);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  return w.Take();
}

std::string EncodeStoreInfo(const StoreInfo& i) {
  JsonWriter w;
  w.BeginObject();
  w.Key("path").String(i.path);
  w.Key("schema_version").Int(i.schema_version);
  w.Key("library_schema_version").Int(i.library_schema_version);
  w.Key("pending_migrations").BeginArray();
  for (const auto& m : i.pending_migrations) {
    w.BeginObject();
    w.Key("version").Int(m.version);
    w.Key("name").String(m.name);
    w.Key("rewrites_data").Bool(m.rewrites_data);
    w.EndObject();
  }
  w.EndArray();
  w.Key("migration_in_progress").String(i.migration_in_progress);
  w.Key("file_bytes").Int(i.file_bytes);
  w.Key("wal_bytes").Int(i.wal_bytes);
  w.Key("page_size").Int(i.page_size);
  w.Key("page_count").Int(i.page_count);
  w.Key("freelist_pages").Int(i.freelist_pages);
  w.Key("row_counts").BeginObject();
  for (const auto& [table, n] : i.row_counts) w.Key(table).Int(n);
  w.EndObject();
  WriteMoney(w, "cost", i.cost_nanousd);
  w.Key("journal");
  if (i.has_journal) WriteJournalStatus(w, i.journal);
  else w.Null();
  w.EndObject();
  return w.Take();
}

std::string EncodeListedBackups(const std::vector<ListedBackup>& backups) {
  JsonWriter w;
  w.BeginArray();
  for (const ListedBackup& b : backups) {
    w.BeginObject();
    w.Key("path").String(b.path);
    w.Key("present").Bool(b.present);
    w.Key("manifest");
    WriteManifest(w, b.manifest);
    w.EndObject();
  }
  w.EndArray();
  return w.Take();
}

std::string EncodeStoreCheck(const StoreCheck& c) {
  JsonWriter w;
  w.BeginObject();
  w.Key("ok").Bool(c.ok);
  w.Key("schema_version").Int(c.schema_version);
  w.Key("problems").BeginArray();
  for (const auto& p : c.problems) w.String(p);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

std::string EncodeJournalPruneReport(const JournalPruneReport& r) {
  JsonWriter w;
  w.BeginObject();
  w.Key("removed").Int(r.removed);
  w.Key("bytes_removed").Int(r.bytes_removed);
  w.Key("first_seq").Int(r.first_seq);
  w.EndObject();
  return w.Take();
}

Result<BackupOptions> DecodeBackupOptions(std::string_view text) {
  auto decoded = DecodeObject<BackupOptions>(text, "backup options", [](Fields& f, BackupOptions& o) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Str("path", o.path));
    return f.Str("encryption_key", o.encryption_key_hex);
  });
  if (!decoded.ok()) return decoded;
  if (decoded->path.empty()) return Status::InvalidArgument("backup options: path is required");
  return decoded;
}

void WriteManifest(JsonWriter& w, const BackupManifest& m) {
  w.BeginObject();
  w.Key("format").Int(m.format);
  w.Key("schema_version").Int(m.schema_version);
  w.Key("journal_seq").Int(m.journal_seq);
  WriteTime(w, "created_at", m.created_at);
  w.Key("duration_us").Int(m.duration_us);
  w.Key("bytes").Int(m.bytes);
  w.Key("sha256").String(m.sha256);
  w.Key("database_sha256").String(m.database_sha256);
  w.Key("encrypted").Bool(m.encrypted);
  w.Key("row_counts").BeginObject();
  for (const auto& [table, n] : m.row_counts) w.Key(table).Int(n);
  w.EndObject();
  WriteMoney(w, "cost", m.cost_nanousd);
  w.Key("convstore_version").String(m.convstore_version);
  w.EndObject();
}

std::string EncodeBackupReport(const BackupReport& r) {
  JsonWriter w;
  w.BeginObject();
  w.Key("path").String(r.path);
  w.Key("manifest_path").String(r.manifest_path);
  w.Key("manifest");
  WriteManifest(w, r.manifest);
  w.EndObject();
  return w.Take();
}

std::string EncodeBackupCheck(const BackupCheck& c) {
  JsonWriter w;
  w.BeginObject();
  w.Key("ok").Bool(c.ok);
  w.Key("problems").BeginArray();
  for (const auto& p : c.problems) w.String(p);
  w.EndArray();
  w.Key("manifest");
  WriteManifest(w, c.manifest);
  w.EndObject();
  return w.Take();
}

std::string EncodeRestoreReport(const RestoreReport& r) {
  JsonWriter w;
  w.BeginObject();
  w.Key("path").String(r.path);
  w.Key("duration_us").Int(r.duration_us);
  w.Key("manifest");
  WriteManifest(w, r.manifest);
  w.EndObject();
  return w.Take();
}

namespace {

// `v` (when given) in µs.
Status Scaled(std::optional<int64_t> v, int64_t unit, const char* name, int64_t* out) {
  if (!v) return Status::OK();
  auto us = ToMicros(*v, unit, name);
  if (!us.ok()) return us.status();
  *out = *us;
  return Status::OK();
}

void WriteArchiveReport(JsonWriter& w, const ArchiveReport& r) {
  w.BeginObject();
  w.Key("generation").String(r.generation);
  w.Key("new_generation").Bool(r.new_generation);
  w.Key("base_backup_taken").Bool(r.base_backup_taken);
  w.Key("entries_shipped").Int(r.entries_shipped);
  w.Key("segments_written").Int(r.segments_written);
  w.Key("bytes_written").Int(r.bytes_written);
  w.Key("files_removed").Int(r.files_removed);
  w.Key("archived_seq").Int(r.archived_seq);
  WriteTime(w, "archived_at", r.archived_at);
  w.EndObject();
}

}  // namespace

Result<int64_t> ToMicros(int64_t count, int64_t unit, const char* name) {
  if (count < 1 || count > INT64_MAX / unit) return Status::InvalidArgument(fmt::format("{} is out of range", name));
  return count * unit;
}

Result<ArchiveOptions> DecodeArchiveOptions(std::string_view text) {
  auto decoded = DecodeObject<ArchiveOptions>(text, "archive options", [](Fields& f, ArchiveOptions& o) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Str("directory", o.directory));
    CONVSTORE_RETURN_IF_ERROR(f.Str("encryption_key", o.encryption_key_hex));
    std::optional<int64_t> interval_ms, base_s, keep_s;
    CONVSTORE_RETURN_IF_ERROR(f.Int("interval_ms", interval_ms));
    CONVSTORE_RETURN_IF_ERROR(f.Int("base_backup_interval_s", base_s));
    CONVSTORE_RETURN_IF_ERROR(f.Int("keep_s", keep_s));
    CONVSTORE_RETURN_IF_ERROR(Scaled(interval_ms, 1000, "interval_ms", &o.interval_us));
    CONVSTORE_RETURN_IF_ERROR(Scaled(base_s, 1'000'000, "base_backup_interval_s", &o.base_backup_interval_us));
    if (keep_s) {
      int64_t keep = 0;
      CONVSTORE_RETURN_IF_ERROR(Scaled(keep_s, 1'000'000, "keep_s", &keep));
      o.keep_us = keep;
    }
    return Status::OK();
  });
  if (!decoded.ok()) return decoded;
  if (decoded->directory.empty()) return Status::InvalidArgument("archive options: directory is required");
  return decoded;
}

std::string EncodeArchiveReport(const ArchiveReport& r) {
  JsonWriter w;
  WriteArchiveReport(w, r);
  return w.Take();
}

std::string EncodeArchivingStatus(const ArchivingStatus& s) {
  JsonWriter w;
  w.BeginObject();
  w.Key("running").Bool(s.running);
  w.Key("directory").String(s.directory);
  w.Key("rounds").Int(s.rounds);
  w.Key("failed_rounds").Int(s.failed_rounds);
  w.Key("last_error").String(s.last_error);
  w.Key("totals");
  WriteArchiveReport(w, s.totals);
  w.EndObject();
  return w.Take();
}

std::string EncodeArchiveListing(const ArchiveListing& l) {
  JsonWriter w;
  w.BeginObject();
  w.Key("directory").String(l.directory);
  w.Key("encrypted").Bool(l.encrypted);
  WriteTime(w, "created_at", l.created_at);
  w.Key("generations").BeginArray();
  for (const auto& g : l.generations) {
    w.BeginObject();
    w.Key("id").String(g.id);
    w.Key("path").String(g.path);
    WriteTime(w, "created_at", g.created_at);
    w.Key("base_backups").BeginArray();
    for (const auto& b : g.base_backups) {
      w.BeginObject();
      w.Key("path").String(b.path);
      WriteTime(w, "created_at", b.created_at);
      w.Key("journal_seq").Int(b.journal_seq);
      WriteTime(w, "journal_committed_at", b.journal_committed_at);
      w.Key("schema_version").Int(b.schema_version);
      w.Key("bytes").Int(b.bytes);
      w.EndObject();
    }
    w.EndArray();
    w.Key("segments").Int(g.segments);
    w.Key("segment_bytes").Int(g.segment_bytes);
    w.Key("first_seq").Int(g.first_seq);
    w.Key("last_seq").Int(g.last_seq);
    WriteTime(w, "last_committed_at", g.last_committed_at);
    w.Key("problems").BeginArray();
    for (const auto& p : g.problems) w.String(p);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

Result<PointInTimeOptions> DecodePointInTimeOptions(std::string_view text) {
  auto decoded = DecodeObject<PointInTimeOptions>(text, "point-in-time options", [](Fields& f, PointInTimeOptions& o) -> Status {
    CONVSTORE_RETURN_IF_ERROR(f.Time("to_time", o.to_time));
    CONVSTORE_RETURN_IF_ERROR(f.Int("to_seq", o.to_seq));
    CONVSTORE_RETURN_IF_ERROR(f.Str("generation", o.generation));
    return f.Str("encryption_key", o.encryption_key_hex);
  });
  if (!decoded.ok()) return decoded;
  if (decoded->to_time.has_value() == decoded->to_seq.has_value())
    return Status::InvalidArgument("point-in-time options: give exactly one of to_time and to_seq");
  return decoded;
}

std::string EncodePointInTimeReport(const PointInTimeReport& r) {
  JsonWriter w;
  w.BeginObject();
  w.Key("path").String(r.path);
  w.Key("generation").String(r.generation);
  w.Key("base_backup").String(r.base_backup);
  w.Key("base_seq").Int(r.base_seq);
  w.Key("seq").Int(r.seq);
  WriteTime(w, "committed_at", r.committed_at);
  w.Key("entries_replayed").Int(r.entries_replayed);
  w.Key("changes_replayed").Int(r.changes_replayed);
  w.Key("archive_last_seq").Int(r.archive_last_seq);
  WriteTime(w, "archive_last_at", r.archive_last_at);
  w.Key("duration_us").Int(r.duration_us);
  w.EndObject();
  return w.Take();
}

}  // namespace convstore::capi
