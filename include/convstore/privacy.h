// convstore/privacy.h: erasing a person from a store (GDPR Art. 17). docs/privacy.md.
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
// Thread-safe as the store is.
#ifndef CONVSTORE_PRIVACY_H_
#define CONVSTORE_PRIVACY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/export.h"
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

 protected:
  Privacy() = default;
  ~Privacy() = default;
};

}  // namespace convstore

#endif  // CONVSTORE_PRIVACY_H_
