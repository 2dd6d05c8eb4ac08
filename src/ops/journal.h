// The change journal's tables: entries (change_journal), the on/off switch and retention (journal_state), and the
// consumers whose positions retention respects (journal_consumers). Layout in src/schema/schema_v6.cc; what is
// recorded in journal_capture.h and journal_tables.h.
//
// Each function works in the caller's transaction on the caller's connection; none opens one. Thread-safe as the
// connection is (one thread at a time).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/ops.h"
#include "convstore/status.h"
#include "sqlite/connection.h"

namespace convstore::ops {

using EntryKind = JournalEntryKind;

// Whether entries of this kind hold row changes (the others are markers without any).
inline bool CarriesChanges(EntryKind kind) { return kind == EntryKind::kChanges || kind == EntryKind::kErasure; }

// Version of the entries' encoding (SQLite changesets of the journaled tables), kept in journal_state.
inline constexpr int kJournalFormat = 1;

// An entry as stored: what the archive ships and a point-in-time restore replays.
struct StoredEntry {
  int64_t seq = 0;
  Micros committed_at = 0;
  EntryKind kind = EntryKind::kChanges;
  int schema_version = 0;
  std::string changes{};  // the SQLite changeset (kChanges entries; empty for markers)
};

// Whether the journal records writes (journal_state.enabled).
Result<bool> JournalEnabled(sqlite::Connection& conn);

// Appends an entry: the next sequence number, committed at max(now, the previous entry's time).
Status AppendEntry(sqlite::Connection& conn, EntryKind kind, Micros now, int schema_version, std::string_view changes);

// Entries matching `query` (validated by the caller), decoded when asked.
Result<std::vector<JournalEntry>> ReadEntries(sqlite::Connection& conn, const JournalQuery& query);

// Decodes a stored changeset, naming columns as the tables now have them; kCorruption when it does not decode.
Status DecodeChanges(sqlite::Connection& conn, std::string_view changes, std::vector<JournalChange>* out);

// Entries with seq > after_seq in order: at most max_entries, and no more once max_bytes of changes are read
// (at least one entry whatever its size).
Result<std::vector<StoredEntry>> ReadStoredEntries(sqlite::Connection& conn, int64_t after_seq, int64_t max_entries,
                                                   int64_t max_bytes);
// Writes an entry with its own seq and time (a replay's copy of the history it replays).
Status InsertStoredEntry(sqlite::Connection& conn, const StoredEntry& entry);
// The commit time of entry `seq`; nullopt when the journal no longer has it.
Result<std::optional<Micros>> CommitTimeOf(sqlite::Connection& conn, int64_t seq);
// The commit time of the first entry after `seq`; nullopt when there is none.
Result<std::optional<Micros>> FirstCommitAfter(sqlite::Connection& conn, int64_t seq);

Result<JournalStatus> ReadStatus(sqlite::Connection& conn);
// The consumers alone, by name (ReadStatus also sums the whole journal's size).
Result<std::vector<JournalConsumer>> ReadConsumers(sqlite::Connection& conn);

// Switches the journal; appends a kJournalOff / kJournalOn marker when the state changes. Returns whether it did.
Result<bool> SetEnabled(sqlite::Connection& conn, bool enabled, Micros now, int schema_version);
Status SetRetention(sqlite::Connection& conn, const JournalRetention& retention);
// The stored retention alone (ReadStatus also counts the whole journal).
Result<JournalRetention> ReadRetention(sqlite::Connection& conn);

// The last entry the retention removes at `now` (0 for none), before the limits PruneUpTo applies: the stored
// retention's, or `retention`'s when given.
Result<int64_t> PruneHorizon(sqlite::Connection& conn, Micros now, const JournalRetention* retention = nullptr);
// Removes up to `batch` of the oldest entries with seq <= upto, never one after a consumer's position nor the
// newest entry. Adds what it removed to *report; returns whether more remain to remove.
Result<bool> PruneUpTo(sqlite::Connection& conn, int64_t upto, int64_t batch, JournalPruneReport* report);

// Whether the file has the journal's tables (schema version 6 or later).
Result<bool> HasJournal(sqlite::Connection& conn);

Status SetConsumer(sqlite::Connection& conn, std::string_view name, int64_t seq, Micros now);
Status RemoveConsumer(sqlite::Connection& conn, std::string_view name);
// The newest sequence number (0 when the journal is empty).
Result<int64_t> LastSeq(sqlite::Connection& conn);

}  // namespace convstore::ops
