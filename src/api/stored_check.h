// The last check before a record leaves the library: every text read from the file is valid UTF-8 and every
// JSON cell is exactly one JSON value of the kind convstore writes (metadata: an object). A cell edited outside
// convstore (or damaged on disk) is reported as kCorruption naming the record and the field, never passed on —
// so output built from a record is always valid, and a cell such as `{"a":1},"title":"x"` cannot splice fields
// into it.
//
// StoreImpl::Guarded runs CheckStored on every successful result; each public result type has an overload (a
// type without one does not compile). Stateless; thread-safe.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "convstore/audit.h"
#include "convstore/cost.h"
#include "convstore/metadata.h"
#include "convstore/monitoring.h"
#include "convstore/ops.h"
#include "convstore/privacy.h"
#include "convstore/retention.h"
#include "convstore/search.h"
#include "convstore/vectors.h"
#include "convstore/sessions.h"
#include "convstore/status.h"
#include "convstore/sync.h"
#include "convstore/types.h"

namespace convstore::api {

Status CheckStored(const Team& v);
Status CheckStored(const User& v);
Status CheckStored(const Conversation& v);
Status CheckStored(const ConversationWithMessages& v);
Status CheckStored(const ConversationPage& v);
Status CheckStored(const Message& v);
Status CheckStored(const ToolCall& v);
Status CheckStored(const Price& v);
Status CheckStored(const RepriceReport& v);
Status CheckStored(const ApiUsage& v);
Status CheckStored(const CostSummary& v);
Status CheckStored(const CostGroupResult& v);
Status CheckStored(const UsageStat& v);
Status CheckStored(const TeamSpend& v);
Status CheckStored(const CostReport& v);
Status CheckStored(const RollupReport& v);
Status CheckStored(const MetadataSearchResult& v);
Status CheckStored(const MetadataPlan& v);
Status CheckStored(const MetadataIndexReport& v);
Status CheckStored(const BudgetState& v);
Status CheckStored(const Reservation& v);
// Search hits carry text read from the file (content, title, keys, snippets): valid UTF-8 only.
Status CheckStored(const TextSearchResult& v);
inline Status CheckStored(const SearchIndexStatus&) { return Status::OK(); }  // counts it read
Status CheckStored(const VectorSearchResult& v);
Status CheckStored(const HybridSearchResult& v);
// A space's name and spec were checked as they were read (search/vector_rows.h); a vector's values too.
inline Status CheckStored(const EmbeddingSpace&) { return Status::OK(); }
inline Status CheckStored(const VectorIndexInfo&) { return Status::OK(); }  // measured, not read from the file
inline Status CheckStored(const std::vector<float>&) { return Status::OK(); }
inline Status CheckStored(bool) { return Status::OK(); }
Status CheckStored(const SearchIndexReport& v);

inline Status CheckStored(int64_t) { return Status::OK(); }
inline Status CheckStored(const ImportReport&) { return Status::OK(); }  // counts only
inline Status CheckStored(const JournalPruneReport&) { return Status::OK(); }  // counts only
inline Status CheckStored(const BackupReport&) { return Status::OK(); }
inline Status CheckStored(const OptimizeReport&) { return Status::OK(); }  // sizes and counts it read
inline Status CheckStored(const ArchiveReport&) { return Status::OK(); }  // counts and positions the archiver made
inline Status CheckStored(const ArchivingStatus&) { return Status::OK(); }
inline Status CheckStored(const SyncReport&) { return Status::OK(); }  // counts and positions the sync made
inline Status CheckStored(const SyncStatus&) { return Status::OK(); }
inline Status CheckStored(const std::vector<GlobalBudgetState>&) { return Status::OK(); }  // from PostgreSQL
// Sentences built from entries that DecodeChanges already checked (names and titles are valid UTF-8 text cells).
inline Status CheckStored(const std::vector<JournalDescription>&) { return Status::OK(); }
// Decoded changes hold text read from the file (the journal's own, or a foreign writer's): valid UTF-8 only.
Status CheckStored(const JournalEntry& v);
Status CheckStored(const JournalStatus& v);
// Audit entries hold text read from the file: valid UTF-8, details and personal details JSON objects.
Status CheckStored(const AuditEntry& v);
Status CheckStored(const AuditPage& v);
// A metric's name is the query's; its unit is read from the file.
Status CheckStored(const MetricSeries& v);
inline Status CheckStored(const AuditVerification&) { return Status::OK(); }  // counts and hashes it computed
inline Status CheckStored(const AuditCheckpoint&) { return Status::OK(); }    // hex it made
inline Status CheckStored(const RetentionPolicy&) { return Status::OK(); }    // ages LoadPolicy range-checked
inline Status CheckStored(const RetentionReport&) { return Status::OK(); }    // counts and times of the run
inline Status CheckStored(const RetentionStatus&) { return Status::OK(); }    // a Status's text is ours
inline Status CheckStored(const EraseReport&) { return Status::OK(); }        // counts, a pseudonym it minted
inline Status CheckStored(const std::vector<ErasureStatus>&) { return Status::OK(); }  // pseudonyms, our sentences
// The caller's key and counts; the pseudonym was minted by convstore (or checked as a key by the import).
inline Status CheckStored(const UserExportReport&) { return Status::OK(); }
inline Status CheckStored(const UserImportReport&) { return Status::OK(); }
// Saved statistics are checked as they are read from the file (src/api/statistics.cc, ReadSaved).
inline Status CheckStored(const StoreStats&) { return Status::OK(); }
// Built from facts read through checked paths (the budgets are checked as they are read: DoCheckHealth).
inline Status CheckStored(const HealthReport&) { return Status::OK(); }

template <typename T>
Status CheckStored(const std::optional<T>& item) {
  return item ? CheckStored(*item) : Status::OK();
}

template <typename T>
Status CheckStored(const std::vector<T>& items) {
  for (const T& item : items)
    if (Status s = CheckStored(item); !s.ok()) return s;
  return Status::OK();
}

}  // namespace convstore::api
