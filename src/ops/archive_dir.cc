#include "ops/archive_dir.h"

#include <algorithm>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "convstore/version.h"
#include "ops/backup_files.h"
#include "util/durable_file.h"
#include "util/status_macros.h"

namespace convstore::ops {

namespace {

constexpr int64_t kMaxRecordBytes = 1 << 20;

std::string Join(const std::string& a, const std::string& b) { return a + "/" + b; }
std::string GenerationsDir(const std::string& dir) { return Join(dir, "generations"); }

// Exactly 20 decimal digits (the fixed width of the numbers in the archive's file names) that fit int64.
bool ParseDigits(std::string_view s, int64_t* out) {
  if (s.size() != 20) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    if (v > (INT64_MAX - (c - '0')) / 10) return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

bool IsTemporary(const std::string& name) { return !name.empty() && name[0] == '.' && name.find(".tmp-") != std::string::npos; }

// "<20 digits>-<8 hex>" -> creation time.
std::optional<Micros> ParseGenerationId(const std::string& id) {
  Micros created = 0;
  if (id.size() != 29 || id[20] != '-' || !ParseDigits(std::string_view(id).substr(0, 20), &created))
    return std::nullopt;
  for (char c : std::string_view(id).substr(21))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  return created;
}

// "<20 digits>.json" -> the base backup's creation time.
std::optional<Micros> ParseBaseRecordName(const std::string& name) {
  Micros created = 0;
  if (name.size() != 25 || name.substr(20) != ".json" || !ParseDigits(std::string_view(name).substr(0, 20), &created))
    return std::nullopt;
  return created;
}

std::string RecordPathOf(const std::string& backup_path) {
  return backup_path.substr(0, backup_path.size() - 3) + ".json";  // "<T>.db" -> "<T>.json"
}

Result<ArchivedBackup> ReadBaseRecord(const std::string& record_path, const std::string& backup_path) {
  auto text = util::ReadWholeFile(record_path, kMaxRecordBytes);
  if (!text.ok()) return text.status();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  ArchivedBackup b;
  b.path = backup_path;
  try {
    if (!j.is_object() || j.at("format").get<int>() != kArchiveFormat) throw std::runtime_error("format");
    b.created_at = j.at("created_at_us").get<int64_t>();
    b.journal_seq = j.at("journal_seq").get<int64_t>();
    b.journal_committed_at = j.at("journal_committed_at_us").get<int64_t>();
    b.schema_version = j.at("schema_version").get<int>();
    b.bytes = j.at("bytes").get<int64_t>();
  } catch (const std::exception&) {
    return Status::Corruption(fmt::format("'{}' is not a base backup record", record_path));
  }
  return b;
}

Status RemoveFile(const std::string& path, int64_t* removed) {
  auto size = util::FileSize(path);
  if (!size.ok()) return Status::OK();
  CONVSTORE_RETURN_IF_ERROR(util::RemoveIfExists(path));
  ++*removed;
  return Status::OK();
}

// Removes a base backup: its record first (so it is no longer listed), then the backup and its manifest.
Status RemoveBase(const ArchivedBackup& b, int64_t* removed) {
  CONVSTORE_RETURN_IF_ERROR(RemoveFile(RecordPathOf(b.path), removed));
  CONVSTORE_RETURN_IF_ERROR(util::SyncDirectoryOf(b.path));
  CONVSTORE_RETURN_IF_ERROR(RemoveFile(b.path, removed));
  return RemoveFile(ManifestPathOf(b.path), removed);
}

Status RemoveGeneration(const GenerationFiles& g, int64_t* removed) {
  for (const auto& b : g.info.base_backups) CONVSTORE_RETURN_IF_ERROR(RemoveBase(b, removed));
  for (const auto& s : g.segments) CONVSTORE_RETURN_IF_ERROR(RemoveFile(s.path, removed));
  for (const char* sub : {"base", "segments"}) {
    const std::string d = Join(g.info.path, sub);
    auto names = util::ListDirectory(d);
    if (names.ok())
      for (const auto& n : *names) CONVSTORE_RETURN_IF_ERROR(RemoveFile(Join(d, n), removed));
    CONVSTORE_RETURN_IF_ERROR(util::RemoveDirectory(d));
  }
  return util::RemoveDirectory(g.info.path);
}

// How far a generation restores: from its oldest base backup through consecutive segments (a later base backup
// bridges a gap).
void Summarise(GenerationFiles* g) {
  ArchiveGeneration& info = g->info;
  if (info.base_backups.empty()) {
    if (!g->segments.empty()) info.problems.push_back("segments without a base backup");
    return;
  }
  info.first_seq = info.base_backups.front().journal_seq;
  g->shipped_seq = info.first_seq;
  g->shipped_at = info.base_backups.front().journal_committed_at;
  for (const auto& s : g->segments) {
    if (s.name.last_seq <= g->shipped_seq) continue;
    if (s.name.first_seq > g->shipped_seq + 1) break;
    g->shipped_seq = s.name.last_seq;
    g->shipped_at = s.name.last_at;
  }
  int64_t reached = info.first_seq;
  Micros reached_at = info.base_backups.front().journal_committed_at;
  for (const auto& s : g->segments) {
    if (s.name.last_seq <= reached) continue;
    if (s.name.first_seq > reached + 1) {
      // A gap, unless a later base backup holds the store as of an entry this segment continues from.
      const bool bridged = std::any_of(info.base_backups.begin(), info.base_backups.end(), [&](const ArchivedBackup& b) {
        return b.journal_seq >= s.name.first_seq - 1 && b.journal_seq <= s.name.last_seq;
      });
      if (!bridged) {
        info.problems.push_back(fmt::format("entries {}..{} are missing", reached + 1, s.name.first_seq - 1));
        break;
      }
    }
    reached = s.name.last_seq;
    reached_at = s.name.last_at;
  }
  const ArchivedBackup& newest = info.base_backups.back();
  if (newest.journal_seq > reached) {
    reached = newest.journal_seq;
    reached_at = newest.journal_committed_at;
  }
  info.last_seq = reached;
  info.last_committed_at = reached_at;
}

Result<ArchiveFacts> DecodeFacts(const std::string& path, const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  ArchiveFacts f;
  try {
    if (!j.is_object()) throw std::runtime_error("object");
    const int format = j.at("format").get<int>();
    if (format != kArchiveFormat)
      return Status::Corruption(fmt::format("'{}': archive format {} is not known to this build", path, format));
    f.encrypted = j.at("encrypted").get<bool>();
    f.created_at = j.at("created_at_us").get<int64_t>();
  } catch (const std::exception&) {
    return Status::Corruption(fmt::format("'{}' is not an archive description", path));
  }
  return f;
}

}  // namespace

std::string SegmentFileName(const SegmentName& n) {
  return fmt::format("{:020}-{:020}-{:020}.seg", n.first_seq, n.last_seq, n.last_at);
}

std::optional<SegmentName> ParseSegmentFileName(std::string_view f) {
  if (f.size() != 20 * 3 + 2 + 4 || f.substr(f.size() - 4) != ".seg" || f[20] != '-' || f[41] != '-')
    return std::nullopt;
  SegmentName n;
  if (!ParseDigits(f.substr(0, 20), &n.first_seq) || !ParseDigits(f.substr(21, 20), &n.last_seq) ||
      !ParseDigits(f.substr(42, 20), &n.last_at) || n.first_seq < 1 || n.last_seq < n.first_seq)
    return std::nullopt;
  return n;
}

Result<ArchiveFacts> ReadArchiveFacts(const std::string& dir) {
  const std::string path = Join(dir, "archive.json");
  auto text = util::ReadWholeFile(path, kMaxRecordBytes);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound)
      return Status::NotFound(fmt::format("'{}' is not a convstore archive (no archive.json)", dir));
    return text.status();
  }
  return DecodeFacts(path, *text);
}

Result<ArchiveFacts> OpenOrCreateArchive(const std::string& dir, bool encrypted, Micros now) {
  CONVSTORE_RETURN_IF_ERROR(util::CreateDirectory(dir));
  auto facts = ReadArchiveFacts(dir);
  if (facts.ok()) {
    if (facts->encrypted != encrypted)
      return Status::InvalidArgument(facts->encrypted ? fmt::format("the archive '{}' is encrypted: give its key", dir)
                                                      : fmt::format("the archive '{}' is not encrypted: archiving "
                                                                    "into it with a key would mix the two",
                                                                    dir));
    return facts;
  }
  if (facts.status().code() != Code::kNotFound) return facts.status();
  auto names = util::ListDirectory(dir);
  if (!names.ok()) return names.status();
  for (const auto& n : *names)
    if (!IsTemporary(n) && n != "archive.lock" && n != "generations")
      return Status::Conflict(fmt::format("'{}' holds other files ('{}'): an archive needs a directory of its own", dir, n));
  nlohmann::ordered_json j;
  j["format"] = kArchiveFormat;
  j["created_at_us"] = now;
  j["encrypted"] = encrypted;
  j["convstore_version"] = CONVSTORE_VERSION_STRING;
  CONVSTORE_RETURN_IF_ERROR(util::CreateDirectory(GenerationsDir(dir)));
  CONVSTORE_RETURN_IF_ERROR(util::WriteFileAtomically(Join(dir, "archive.json"), j.dump(2) + "\n"));
  return ArchiveFacts{encrypted, now};
}

Result<util::DirectoryLock> LockArchive(const std::string& dir) {
  auto lock = util::DirectoryLock::TryAcquire(Join(dir, "archive.lock"));
  if (!lock.ok() && lock.status().code() == Code::kBusy)
    return Status::Busy(fmt::format("another archiver is writing into '{}'", dir));
  return lock;
}

std::string GenerationPath(const std::string& dir, const std::string& id) { return Join(GenerationsDir(dir), id); }

std::string BaseBackupPath(const std::string& generation_path, Micros created_at) {
  return fmt::format("{}/base/{:020}.db", generation_path, created_at);
}

Result<std::string> CreateGeneration(const std::string& dir, Micros now) {
  thread_local std::mt19937 rng{std::random_device{}()};
  const std::string id = fmt::format("{:020}-{:08x}", now, rng());
  const std::string path = GenerationPath(dir, id);
  CONVSTORE_RETURN_IF_ERROR(util::CreateDirectory(GenerationsDir(dir)));
  CONVSTORE_RETURN_IF_ERROR(util::CreateDirectory(path));
  CONVSTORE_RETURN_IF_ERROR(util::CreateDirectory(Join(path, "base")));
  CONVSTORE_RETURN_IF_ERROR(util::CreateDirectory(Join(path, "segments")));
  return id;
}

Status WriteBaseRecord(const std::string& backup_path, const ArchivedBackup& b) {
  nlohmann::ordered_json j;
  j["format"] = kArchiveFormat;
  j["created_at_us"] = b.created_at;
  j["journal_seq"] = b.journal_seq;
  j["journal_committed_at_us"] = b.journal_committed_at;
  j["schema_version"] = b.schema_version;
  j["bytes"] = b.bytes;
  return util::WriteFileAtomically(RecordPathOf(backup_path), j.dump(2) + "\n");
}

Result<int64_t> WriteSegment(const std::string& generation_path, const std::vector<StoredEntry>& entries,
                             const std::optional<CipherKey>& key) {
  auto bytes = EncodeSegment(entries, key);
  if (!bytes.ok()) return bytes.status();
  const SegmentName name{entries.front().seq, entries.back().seq, entries.back().committed_at};
  CONVSTORE_RETURN_IF_ERROR(
      util::WriteFileAtomically(Join(Join(generation_path, "segments"), SegmentFileName(name)), *bytes));
  return static_cast<int64_t>(bytes->size());
}

Result<std::vector<StoredEntry>> ReadSegment(const ArchivedSegment& segment, const std::optional<CipherKey>& key) {
  auto bytes = util::ReadWholeFile(segment.path, int64_t{1} << 32);
  if (!bytes.ok()) return bytes.status();
  auto entries = DecodeSegment(*bytes, key);
  if (!entries.ok()) return Status(entries.status().code(), fmt::format("'{}': {}", segment.path, entries.status().message()));
  if (entries->front().seq != segment.name.first_seq || entries->back().seq != segment.name.last_seq ||
      entries->back().committed_at != segment.name.last_at)
    return Status::Corruption(fmt::format("'{}' does not hold the entries its name says", segment.path));
  return entries;
}

Result<std::vector<GenerationFiles>> ListGenerations(const std::string& dir) {
  std::vector<GenerationFiles> out;
  auto ids = util::ListDirectory(GenerationsDir(dir));
  if (!ids.ok()) {
    if (ids.status().code() == Code::kNotFound) return out;
    return ids.status();
  }
  for (const auto& id : *ids) {
    auto created = ParseGenerationId(id);
    if (!created) continue;
    GenerationFiles g;
    g.info.id = id;
    g.info.path = GenerationPath(dir, id);
    g.info.created_at = *created;
    auto bases = util::ListDirectory(Join(g.info.path, "base"));
    if (bases.ok()) {
      for (const auto& name : *bases) {
        if (!ParseBaseRecordName(name)) continue;
        const std::string backup = Join(Join(g.info.path, "base"), name.substr(0, 20) + ".db");
        auto base = ReadBaseRecord(Join(Join(g.info.path, "base"), name), backup);
        if (!base.ok()) {
          g.info.problems.push_back(base.status().message());
          continue;
        }
        if (!util::FileSize(backup).ok() || !util::FileSize(ManifestPathOf(backup)).ok()) {
          g.info.problems.push_back(fmt::format("the base backup '{}' is missing", backup));
          continue;
        }
        g.info.base_backups.push_back(*base);
      }
    }
    std::sort(g.info.base_backups.begin(), g.info.base_backups.end(),
              [](const ArchivedBackup& a, const ArchivedBackup& b) { return a.journal_seq < b.journal_seq; });
    auto segments = util::ListDirectory(Join(g.info.path, "segments"));
    if (segments.ok()) {
      for (const auto& name : *segments) {
        auto parsed = ParseSegmentFileName(name);
        if (!parsed) continue;
        ArchivedSegment s{Join(Join(g.info.path, "segments"), name), *parsed, 0};
        auto size = util::FileSize(s.path);
        if (!size.ok()) continue;  // removed meanwhile
        s.bytes = *size;
        g.info.segment_bytes += s.bytes;
        g.segments.push_back(std::move(s));
      }
    }
    std::sort(g.segments.begin(), g.segments.end(),
              [](const ArchivedSegment& a, const ArchivedSegment& b) { return a.name.first_seq < b.name.first_seq; });
    g.info.segments = static_cast<int64_t>(g.segments.size());
    Summarise(&g);
    out.push_back(std::move(g));
  }
  return out;
}

Result<int64_t> RemoveLeftovers(const std::string& dir) {
  int64_t removed = 0;
  auto top = util::ListDirectory(dir);
  if (!top.ok()) return top.status();
  for (const auto& n : *top)
    if (IsTemporary(n)) CONVSTORE_RETURN_IF_ERROR(RemoveFile(Join(dir, n), &removed));
  auto ids = util::ListDirectory(GenerationsDir(dir));
  if (!ids.ok()) return ids.status().code() == Code::kNotFound ? Result<int64_t>(removed) : ids.status();
  for (const auto& id : *ids) {
    for (const char* sub : {"base", "segments"}) {
      const std::string d = Join(GenerationPath(dir, id), sub);
      auto names = util::ListDirectory(d);
      if (!names.ok()) continue;
      for (const auto& n : *names) {
        bool leftover = IsTemporary(n);
        if (!leftover && std::string_view(sub) == "base") {
          // A backup (or its manifest) without the record written after it: a base backup that never finished.
          const size_t stem = n.find('.');
          leftover = stem == 20 && n.substr(stem) != ".json" &&
                     !util::FileSize(Join(d, n.substr(0, stem) + ".json")).ok();
        }
        if (leftover) CONVSTORE_RETURN_IF_ERROR(RemoveFile(Join(d, n), &removed));
      }
    }
  }
  return removed;
}

Result<int64_t> PruneArchive(const std::string& dir, Micros horizon) {
  auto generations = ListGenerations(dir);
  if (!generations.ok()) return generations.status();
  // The newest base backup committed at or before the horizon: restoring any later instant starts there or later.
  int keep_gen = -1;
  int keep_base = -1;
  for (int g = 0; g < static_cast<int>(generations->size()); ++g) {
    const auto& bases = (*generations)[g].info.base_backups;
    for (int b = 0; b < static_cast<int>(bases.size()); ++b)
      if (bases[b].journal_committed_at <= horizon) {
        keep_gen = g;
        keep_base = b;
      }
  }
  int64_t removed = 0;
  if (keep_gen < 0) return removed;
  for (int g = 0; g < keep_gen; ++g) CONVSTORE_RETURN_IF_ERROR(RemoveGeneration((*generations)[g], &removed));
  const GenerationFiles& gen = (*generations)[keep_gen];
  const int64_t kept_seq = gen.info.base_backups[keep_base].journal_seq;
  for (int b = 0; b < keep_base; ++b) CONVSTORE_RETURN_IF_ERROR(RemoveBase(gen.info.base_backups[b], &removed));
  for (const auto& s : gen.segments)
    if (s.name.last_seq <= kept_seq) CONVSTORE_RETURN_IF_ERROR(RemoveFile(s.path, &removed));
  if (removed > 0) CONVSTORE_RETURN_IF_ERROR(util::SyncDirectory(Join(gen.info.path, "segments")));
  return removed;
}

Result<int64_t> RemoveGenerationsBefore(const std::string& dir, int64_t seq) {
  auto generations = ListGenerations(dir);
  if (!generations.ok()) return generations.status();
  int64_t removed = 0;
  for (const GenerationFiles& g : *generations) {
    const auto& bases = g.info.base_backups;
    if (!bases.empty() && bases.front().journal_seq >= seq) continue;
    CONVSTORE_RETURN_IF_ERROR(RemoveGeneration(g, &removed));
  }
  if (removed > 0) CONVSTORE_RETURN_IF_ERROR(util::SyncDirectory(GenerationsDir(dir)));
  return removed;
}

}  // namespace convstore::ops
