// convstore/privacy.h: erasing a person from a store (GDPR Art. 17) and exporting everything about them, which
// another store (or the same one, after an erasure) can import (Art. 15 and 20). docs/privacy.md.
//
// EraseUser removes every row about the user — their conversations with every message, tool call and tombstone,
// their API usage, budgets and reservations, their metadata postings — in one write transaction, and keeps what
// they spent: counted under the user's row, now named only by a pseudonymous id ("erased:<pseudonym>"), so cost
// reports, verify_rollups and budgets are unchanged (an erasure gives no budget headroom back). The audit log
// keeps its entries about the person with their personal fields removed (the chain still verifies). The change
// journal's earlier entries are rewritten without the person's data, and the erasure's own entry withholds what it
// removed. Then the files: deleted content is overwritten (secure delete), free pages are given back, the WAL is
// checkpointed and emptied, and the archive's earlier generations (which hold the person's data) are removed.
//
// What cannot be done at once — the WAL while a reader in another process still uses it, an archive directory
// another process is archiving into — stays pending, is reported, and FinishErasures (also run at every
// open of the store) finishes it. Backups taken elsewhere are not touched: see docs/privacy.md.
//
// ExportUser writes JSON Lines ("convstore-user-export/1", docs/privacy.md): a header naming the user, their
// conversations each followed by its messages, tool calls and deleted messages, their API usage, budgets, the audit
// entries about them, and an end line with the counts — read from one snapshot and streamed in bounded memory.
// ImportUser reads such a file back in one write transaction; an erased user's row is taken up again, and what
// they spent moves from the retained cost back to the imported rows, so spend is counted once. Audit entries in the
// file are not replayed: the import writes one "user.imported" entry of its own.
//
// Thread-safe as the store is.
#ifndef CONVSTORE_PRIVACY_H_
#define CONVSTORE_PRIVACY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/export.h"
#include "convstore/options.h"
#include "convstore/status.h"
#include "convstore/types.h"

namespace convstore {

struct EraseReport {
  std::string pseudonym{};     // the user's pseudonymous id
  std::string user_key{};      // the user row's key now: "erased:" + pseudonym
  int64_t conversations = 0;
  int64_t messages = 0;
  int64_t tool_calls = 0;
  int64_t tombstones = 0;
  int64_t api_usage = 0;
  int64_t budgets = 0;
  int64_t reservations = 0;
  int64_t audit_entries_stripped = 0;     // entries whose personal fields were removed
  int64_t journal_entries_rewritten = 0;  // earlier journal entries that held the person's data
  int64_t archive_files_removed = 0;
  // What is not done yet, in words (empty: no file the store manages holds the person's data any more).
  std::vector<std::string> pending{};
  Micros duration_us = 0;
};

// An erasure as recorded in the store.
struct ErasureStatus {
  int64_t id = 0;
  std::string pseudonym{};
  Micros erased_at = 0;
  std::optional<Micros> finished_at{};  // when every file was clean
  std::vector<std::string> pending{};
};

// The format an export is written in (the header's "format").
inline constexpr const char* kUserExportFormat = "convstore-user-export/1";

struct UserExportOptions {
  // The file to create (must not exist): created 0600, written under a temporary name, fsync'ed and renamed into
  // place, so it is there whole or not at all. Empty: the export goes to `sink`.
  std::string path{};
  // Receives the export in order, in pieces of whole lines (each ends with '\n'), when `path` is empty. A non-OK
  // status stops the export and is returned. Called on the calling thread while a read snapshot is open (writers
  // are not blocked); must not throw.
  std::function<Status(std::string_view chunk)> sink{};
  // Called as lines are written (Progress::done/total in rows); on the calling thread. Must not throw.
  std::function<void(const Progress&)> on_progress{};
};

// What an export or an import carried.
struct UserDataCounts {
  int64_t conversations = 0;
  int64_t messages = 0;
  int64_t tool_calls = 0;
  int64_t deleted_messages = 0;  // tombstones: deleted messages whose spend still counts
  int64_t api_usage = 0;
  int64_t budgets = 0;
  int64_t audit_entries = 0;
};

struct UserExportReport {
  std::string path{};       // the file written ("" for a sink)
  std::string user_key{};
  std::string pseudonym{};  // the user's pseudonymous id (audit entries name them by it)
  UserDataCounts counts{};
  NanoUsd cost_nanousd = 0;  // spend of the exported messages, deleted messages and API usage
  int64_t bytes = 0;
  Micros duration_us = 0;
};

struct UserImportOptions {
  // The export file to read. Empty: the export is read from `source`.
  std::string path{};
  // Fills `buffer` with up to `capacity` bytes of the export and returns how many (0 at the end), or an error,
  // which stops the import (nothing is written). Must not throw.
  std::function<Result<size_t>(char* buffer, size_t capacity)> source{};
  // Called as lines are imported (Progress::done in lines; total 0: not known ahead). Must not throw.
  std::function<void(const Progress&)> on_progress{};
};

struct UserImportReport {
  std::string user_key{};
  std::string pseudonym{};
  // The user row was an erased one (key "erased:<pseudonym>") and is the user's again; the spend the erasure
  // retained for the imported rows went back to them.
  bool restored_erased_user = false;
  UserDataCounts counts{};  // audit_entries: the entries the file carried (not replayed)
  NanoUsd cost_nanousd = 0;          // spend of the imported rows
  NanoUsd cost_from_retained = 0;    // of which moved back from the retained cost (counted once, not twice)
  Micros duration_us = 0;
};

// The privacy capability of a ConversationStore (a base of it: call these on the store). Non-virtual and without
// data: entry points added here never change the layout of ConversationStore.
class CONVSTORE_EXPORT Privacy {
 public:
  // Erases the user with this key. kNotFound for an unknown key; kInvalidArgument for a key that is already an
  // erased user's. Writes an audit entry "user.erased" about the pseudonymous id.
  Result<EraseReport> EraseUser(std::string_view user_key);
  // Every erasure, oldest first, with what is still pending.
  Result<std::vector<ErasureStatus>> ListErasures();
  // Tries the pending steps of every unfinished erasure again; returns the erasures still unfinished.
  Result<std::vector<ErasureStatus>> FinishErasures();

  // Exports everything about the user with this key (an erased user's key exports what is left: nothing but the
  // user row and the audit entries about them). kNotFound for an unknown key; kConflict when the file exists;
  // kInvalidArgument without a path or sink; a sink's error as returned by it. Nothing in the store changes but
  // the user's pseudonymous id, minted when they have none yet (so that an import after their erasure finds the
  // row their spend was kept under; a store opened read-only exports without one).
  Result<UserExportReport> ExportUser(std::string_view user_key, const UserExportOptions& options);
  // Imports an export into this store, in one write transaction: all of it or nothing. The user's key must not be
  // in use (kConflict), unless it is held by the erased row of the same person (the export's pseudonym), which
  // is taken up again; so must every conversation, message, tool call and API-usage id and request id, and every
  // budget name (kConflict). kInvalidArgument, naming the line, for a file that is not a complete export in
  // a known format (a missing end line: truncated) or a row this store would not accept. Writes an audit entry
  // "user.imported".
  Result<UserImportReport> ImportUser(const UserImportOptions& options);

 protected:
  Privacy() = default;
  ~Privacy() = default;
};

}  // namespace convstore

#endif  // CONVSTORE_PRIVACY_H_
