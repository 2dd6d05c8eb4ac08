// Vector search's entry points: embedding spaces, their vectors, exact nearest-neighbour search over this handle's
// in-memory copy of a space, and hybrid search fusing it with full-text search (convstore/vectors.h).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <thread>

#include "api/store_impl.h"
#include "api/search_filter.h"
#include "metadata/filter.h"
#include "search/text_search.h"
#include "search/vector_rows.h"
#include "search/vector_search.h"
#include "util/json_writer.h"
#include "util/logging.h"

namespace convstore::api {

namespace {

// A copy holding twice as many slots as live rows (plus this) is read again from the table: forgotten rows then
// stop costing memory and scan time.
constexpr size_t kCompactSlack = 4096;
// Queries a new index's recall is measured with (each an exact scan of the space).
constexpr int kRecallQueries = 100;

EmbeddingSpace PublicSpace(const search::SpaceRow& row, int64_t vectors, int64_t memory_bytes) {
  EmbeddingSpace s;
  s.spec = row.spec;
  s.vectors = vectors;
  s.created_at = row.created_at;
  s.memory_bytes = memory_bytes;
  return s;
}

bool SameSpace(const search::SpaceRow& a, const search::SpaceRow& b) {
  return a.id == b.id && a.spec.target == b.spec.target && a.spec.dimension == b.spec.dimension &&
         a.spec.metric == b.spec.metric && a.spec.quantization == b.spec.quantization;
}

bool SameIndexSpec(const VectorIndexSpec& a, const VectorIndexSpec& b) {
  return a.m == b.m && a.ef_construction == b.ef_construction && a.ef_search == b.ef_search;
}

int IndexBuildThreads() {
  const unsigned cores = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(cores, 1u, 8u));
}

}  // namespace

std::shared_ptr<StoreImpl::VectorSlot> StoreImpl::VectorSlotOf(const std::string& space) {
  std::lock_guard lock(vectors_mu_);
  auto& slot = vector_copies_[space];
  if (!slot) slot = std::make_shared<VectorSlot>();
  return slot;
}

int64_t StoreImpl::VectorBytesBesides(const VectorSlot* except) {
  std::lock_guard lock(vectors_mu_);
  int64_t total = 0;
  for (const auto& [name, slot] : vector_copies_)
    if (slot.get() != except) total += slot->bytes.load();
  return total;
}

Result<EmbeddingSpace> StoreImpl::DoCreateEmbeddingSpace(const EmbeddingSpaceSpec& spec) {
  CONVSTORE_RETURN_IF_ERROR(search::ValidateSpec(spec));
  const AuditActor who = CurrentAuditActor();
  return Write("create_embedding_space", [&](sqlite::Connection& conn) -> Result<EmbeddingSpace> {
    auto existing = search::FindSpace(conn, spec.name);
    if (!existing.ok()) return existing.status();
    auto row = search::CreateSpace(conn, spec, Now());
    if (!row.ok()) return row.status();
    auto n = search::CountVectors(conn, *row);
    if (!n.ok()) return n.status();
    if (!*existing) {
      util::JsonWriter w;
      w.BeginObject().Key("target").String(EmbeddingTargetName(spec.target)).Key("dimension").Int(spec.dimension);
      w.Key("metric").String(VectorMetricName(spec.metric));
      w.Key("quantization").String(VectorQuantizationName(spec.quantization)).EndObject();
      CONVSTORE_RETURN_IF_ERROR(
          Audited(conn, who, {"embedding_space.created", "embedding_space", spec.name, std::nullopt, w.Take()}));
    }
    return PublicSpace(*row, *n, 0);
  });
}

Result<std::vector<EmbeddingSpace>> StoreImpl::DoListEmbeddingSpaces() {
  auto spaces = Read("list_embedding_spaces", [&](sqlite::Connection& conn) -> Result<std::vector<EmbeddingSpace>> {
    auto txn = sqlite::ReadTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    auto rows = search::ListSpaces(conn);
    if (!rows.ok()) return rows.status();
    std::vector<EmbeddingSpace> out;
    for (const search::SpaceRow& row : *rows) {
      auto n = search::CountVectors(conn, row);
      if (!n.ok()) return n.status();
      auto index = search::GetIndexSpec(conn, row);
      if (!index.ok()) return index.status();
      out.push_back(PublicSpace(row, *n, 0));
      out.back().index = *index;
    }
    return out;
  });
  if (!spaces.ok()) return spaces;
  for (EmbeddingSpace& s : *spaces) {
    std::shared_ptr<VectorSlot> slot;
    {
      std::lock_guard lock(vectors_mu_);
      auto it = vector_copies_.find(s.spec.name);
      if (it != vector_copies_.end()) slot = it->second;
    }
    if (!slot) continue;
    s.memory_bytes = slot->bytes.load();
  }
  return spaces;
}

Status StoreImpl::DoDropEmbeddingSpace(std::string_view name) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(name, "space"));  // a name no space can have is simply not found
  const AuditActor who = CurrentAuditActor();
  auto dropped = Write("drop_embedding_space", [&](sqlite::Connection& conn) -> Status {
    auto gone = search::DropSpace(conn, name);
    if (!gone.ok()) return gone.status();
    if (!*gone) return Status::NotFound(fmt::format("embedding space '{}' does not exist", name));
    return Audited(conn, who, {"embedding_space.dropped", "embedding_space", std::string(name), std::nullopt, ""});
  });
  if (!dropped.ok()) return dropped;
  std::lock_guard lock(vectors_mu_);
  vector_copies_.erase(std::string(name));
  return Status::OK();
}

Status StoreImpl::DoPutEmbeddings(std::string_view space, const std::vector<EmbeddingInput>& rows) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(space, "space"));
  if (rows.empty()) return Status::InvalidArgument("no vectors given");
  if (rows.size() > search::kMaxVectorsPerPut)
    return Status::TooLarge(fmt::format("{} vectors in one call; the limit is {}", rows.size(),
                                        search::kMaxVectorsPerPut));
  std::set<std::string_view> ids;
  for (size_t i = 0; i < rows.size(); ++i) {
    CONVSTORE_RETURN_IF_ERROR(util::CheckKey(rows[i].id, fmt::format("rows[{}].id", i)));
    if (!ids.insert(rows[i].id).second)
      return Status::InvalidArgument(fmt::format("rows[{}]: id '{}' is given twice", i, rows[i].id));
    if (rows[i].vector.empty() || rows[i].vector.size() > static_cast<size_t>(search::kMaxDimension))
      return Status::InvalidArgument(fmt::format("rows[{}].vector has {} values", i, rows[i].vector.size()));
  }
  return Write("put_embeddings", [&](sqlite::Connection& conn) -> Status {
    auto s = search::RequireSpace(conn, space);
    if (!s.ok()) return s.status();
    for (size_t i = 0; i < rows.size(); ++i)
      CONVSTORE_RETURN_IF_ERROR(search::CheckVector(rows[i].vector, s->spec, fmt::format("rows[{}].vector", i)));
    for (const EmbeddingInput& r : rows) {
      auto row = search::TargetRow(conn, s->spec.target, r.id);
      if (!row.ok()) return row.status();
      CONVSTORE_RETURN_IF_ERROR(search::PutVector(conn, *s, *row, r.vector));
    }
    return Status::OK();
  });
}

Result<bool> StoreImpl::DoDeleteEmbedding(std::string_view space, std::string_view id) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(space, "space"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(id, "id"));
  return Write("delete_embedding", [&](sqlite::Connection& conn) -> Result<bool> {
    auto s = search::RequireSpace(conn, space);
    if (!s.ok()) return s.status();
    auto row = search::TargetRow(conn, s->spec.target, id);
    if (!row.ok()) return row.status();
    return search::DeleteVector(conn, *s, *row);
  });
}

Result<std::optional<std::vector<float>>> StoreImpl::DoGetEmbedding(std::string_view space, std::string_view id) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(space, "space"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(id, "id"));
  return Read("get_embedding", [&](sqlite::Connection& conn) -> Result<std::optional<std::vector<float>>> {
    auto txn = sqlite::ReadTransaction::Begin(conn);
    if (!txn.ok()) return txn.status();
    auto s = search::RequireSpace(conn, space);
    if (!s.ok()) return s.status();
    auto row = search::TargetRow(conn, s->spec.target, id);
    if (!row.ok()) return row.status();
    return search::GetVector(conn, *s, *row);
  });
}

void StoreImpl::DropVectorCopyLocked(VectorSlot& slot) {
  slot.index.reset();
  slot.copy.reset();
  slot.index_recall.reset();
  slot.bytes = 0;
}

int64_t StoreImpl::VectorSlotBytesLocked(const VectorSlot& slot) {
  return (slot.copy ? slot.copy->bytes() : 0) + (slot.index ? slot.index->bytes() : 0);
}

Result<bool> StoreImpl::ReadyVectorCopyLocked(sqlite::Connection& conn, VectorSlot& slot,
                                              const search::SpaceRow& space,
                                              const std::optional<VectorIndexSpec>& index_spec) {
  if (slot.copy && (!SameSpace(slot.copy->space(), space) ||
                    slot.copy->slots() > 2 * slot.copy->live() + kCompactSlack))
    DropVectorCopyLocked(slot);
  if (slot.index && (!index_spec || !SameIndexSpec(slot.index->spec(), *index_spec))) {
    slot.index.reset();  // dropped or changed by some handle: the copy stops recording changes for it
    slot.index_recall.reset();
    slot.copy->TrackChanges(false);
  }
  if (!slot.copy) {
    auto n = search::CountVectors(conn, space);
    if (!n.ok()) return n.status();
    if (search::VectorCopy::BytesFor(space, *n, true) + VectorBytesBesides(&slot) > vector_budget_.load())
      return false;  // over the budget: no copy
    slot.copy = std::make_unique<search::VectorCopy>(space, /*keep_float32=*/true);
  }
  CONVSTORE_RETURN_IF_ERROR(slot.copy->Refresh(conn));
  return true;
}

Result<bool> StoreImpl::BuildVectorIndexLocked(VectorSlot& slot, const VectorIndexSpec& spec) {
  const int64_t need = search::VectorIndex::BytesFor(slot.copy->space(), static_cast<int64_t>(slot.copy->live()), spec);
  if (slot.copy->bytes() + need + VectorBytesBesides(&slot) > vector_budget_.load()) return false;
  auto built = search::VectorIndex::Build(*slot.copy, spec, IndexBuildThreads());
  if (!built.ok()) return built.status();
  slot.index = std::move(*built);
  slot.index_recall.reset();
  return true;
}

Status StoreImpl::SnapshotSpaceLocked(sqlite::Connection& conn, VectorSlot& slot, const std::string& name,
                                      SpaceSnapshot& snap) {
  snap.txn.reset();
  auto txn = sqlite::ReadTransaction::Begin(conn);
  if (!txn.ok()) return txn.status();
  snap.txn.emplace(std::move(*txn));
  auto space = search::RequireSpace(conn, name);
  if (!space.ok()) return space.status();
  snap.space = std::move(*space);
  auto index = search::GetIndexSpec(conn, snap.space);
  if (!index.ok()) return index.status();
  snap.index = *index;
  auto ready = ReadyVectorCopyLocked(conn, slot, snap.space, snap.index);
  if (!ready.ok()) {
    DropVectorCopyLocked(slot);  // read again next time
    return ready.status();
  }
  snap.ready = *ready;
  return Status::OK();
}

Result<VectorSearchResult> StoreImpl::DoSearchVectors(const VectorSearchQuery& query) {
  CONVSTORE_RETURN_IF_ERROR(search::ValidateVectorQuery(query));
  std::optional<metadata::CompiledFilter> compiled;
  search::RowPredicate predicate;
  CONVSTORE_RETURN_IF_ERROR(CompileMetadata(query.filter, compiled, predicate));
  return Read("search_vectors", [&](sqlite::Connection& conn) -> Result<VectorSearchResult> {
    std::shared_ptr<VectorSlot> slot = VectorSlotOf(query.space);
    std::lock_guard lock(slot->mu);
    SpaceSnapshot snap;  // the vectors, the filter's rows and the hits: one snapshot
    CONVSTORE_RETURN_IF_ERROR(SnapshotSpaceLocked(conn, *slot, query.space, snap));
    // An unfiltered search of an indexed space builds this handle's index at first use (CreateVectorIndex does it
    // ahead) — outside any snapshot, so that no WAL is held for its seconds or minutes — then searches in a new
    // snapshot. When the index would not fit in the budget, or cannot be built, the search is exact.
    if (snap.ready && snap.index && !slot->index && !query.exact && !search::Restricts(query.filter, predicate)) {
      snap.txn.reset();
      auto built = BuildVectorIndexLocked(*slot, *snap.index);
      if (!built.ok())
        util::Logger().warn("the vector index of space '{}' was not built ({}): searching exactly", query.space,
                            built.status().ToString());
      CONVSTORE_RETURN_IF_ERROR(SnapshotSpaceLocked(conn, *slot, query.space, snap));
    }
    if (!snap.ready) return search::SearchStreamed(conn, snap.space, query, predicate);
    auto result = search::SearchCopy(conn, *slot->copy, query, predicate, slot->index.get());
    if (!result.ok() && result.status().code() == Code::kInternal && slot->index) {
      // The index failed (memory): dropped (built again at a later search), and this search runs exactly.
      util::Logger().warn("the vector index of space '{}' was dropped ({}): searching exactly", query.space,
                          result.status().ToString());
      slot->index.reset();
      slot->index_recall.reset();
      slot->copy->TrackChanges(false);
      result = search::SearchCopy(conn, *slot->copy, query, predicate, nullptr);
    }
    // A damaged row: read it all again next time. A copy that grew past the budget is dropped after its search.
    if (!result.ok() && result.status().code() == Code::kCorruption) DropVectorCopyLocked(*slot);
    if (slot->copy && VectorSlotBytesLocked(*slot) + VectorBytesBesides(slot.get()) > vector_budget_.load())
      DropVectorCopyLocked(*slot);
    slot->bytes = VectorSlotBytesLocked(*slot);
    return result;
  });
}

Result<VectorIndexInfo> StoreImpl::DoCreateVectorIndex(std::string_view space_name, const VectorIndexSpec& spec) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(space_name, "space"));
  CONVSTORE_RETURN_IF_ERROR(search::ValidateIndexSpec(spec));
  const AuditActor who = CurrentAuditActor();
  const std::string name(space_name);
  std::shared_ptr<VectorSlot> slot = VectorSlotOf(name);
  // The setting, refused before anything is written when the copy and the index cannot fit in the budget.
  auto stored = Write("create_vector_index", [&](sqlite::Connection& conn) -> Status {
    auto space = search::RequireSpace(conn, name);
    if (!space.ok()) return space.status();
    auto n = search::CountVectors(conn, *space);
    if (!n.ok()) return n.status();
    const int64_t need = search::VectorCopy::BytesFor(*space, *n, true) + search::VectorIndex::BytesFor(*space, *n, spec);
    const int64_t budget = vector_budget_.load();
    if (need + VectorBytesBesides(slot.get()) > budget)
      return Status::TooLarge(fmt::format(
          "an index of space '{}' and its copy would take about {} bytes beside {} of other spaces; the vector memory "
          "budget is {} bytes",
          name, need, VectorBytesBesides(slot.get()), budget));
    auto existing = search::GetIndexSpec(conn, *space);
    if (!existing.ok()) return existing.status();
    if (*existing && SameIndexSpec(**existing, spec)) return Status::OK();
    CONVSTORE_RETURN_IF_ERROR(search::PutIndexSpec(conn, *space, spec));
    util::JsonWriter w;
    w.BeginObject().Key("kind").String("hnsw").Key("m").Int(spec.m).Key("ef_construction").Int(spec.ef_construction);
    w.Key("ef_search").Int(spec.ef_search).EndObject();
    return Audited(conn, who, {"vector_index.created", "embedding_space", name, std::nullopt, w.Take()});
  });
  if (!stored.ok()) return stored;
  // This handle's index, built from its copy as of now (or brought up to date), and its recall; built outside any
  // snapshot (no WAL is held for the build's seconds or minutes).
  return Read("create_vector_index", [&](sqlite::Connection& conn) -> Result<VectorIndexInfo> {
    std::lock_guard lock(slot->mu);
    SpaceSnapshot snap;
    CONVSTORE_RETURN_IF_ERROR(SnapshotSpaceLocked(conn, *slot, name, snap));
    snap.txn.reset();
    if (!snap.index)
      return Status::Conflict(fmt::format("the index of space '{}' was dropped while it was being built", name));
    if (!snap.ready)
      return Status::TooLarge(fmt::format("the copy of space '{}' does not fit in the vector memory budget", name));
    VectorIndexInfo info;
    info.space = name;
    info.spec = *snap.index;
    if (!slot->index) {
      const auto started = std::chrono::steady_clock::now();
      auto built = BuildVectorIndexLocked(*slot, *snap.index);
      if (!built.ok()) return built.status();
      if (!*built)
        return Status::TooLarge(fmt::format("the index of space '{}' does not fit in the vector memory budget", name));
      info.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    }
    CONVSTORE_RETURN_IF_ERROR(slot->index->Sync(*slot->copy));
    if (!slot->index_recall) {
      auto recall = search::MeasureIndexRecall(*slot->copy, *slot->index, kRecallQueries);
      if (!recall.ok()) return recall.status();
      slot->index_recall = recall->value_or(search::IndexRecall{-1, 0});
    }
    info.recall_at_10 = slot->index_recall->recall_at_10;
    info.recall_queries = slot->index_recall->queries;
    info.vectors = slot->index->indexed();
    info.memory_bytes = slot->index->bytes();
    slot->bytes = VectorSlotBytesLocked(*slot);
    return info;
  });
}

Result<bool> StoreImpl::DoDropVectorIndex(std::string_view space_name) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(space_name, "space"));
  const AuditActor who = CurrentAuditActor();
  auto dropped = Write("drop_vector_index", [&](sqlite::Connection& conn) -> Result<bool> {
    auto space = search::RequireSpace(conn, space_name);
    if (!space.ok()) return space.status();
    auto gone = search::DeleteIndexSpec(conn, *space);
    if (!gone.ok() || !*gone) return gone;
    CONVSTORE_RETURN_IF_ERROR(Audited(
        conn, who, {"vector_index.dropped", "embedding_space", std::string(space_name), std::nullopt, ""}));
    return true;
  });
  if (!dropped.ok() || !*dropped) return dropped;
  std::shared_ptr<VectorSlot> slot = VectorSlotOf(std::string(space_name));
  std::lock_guard lock(slot->mu);
  if (slot->index) {
    slot->index.reset();
    slot->index_recall.reset();
    if (slot->copy) slot->copy->TrackChanges(false);
    slot->bytes = VectorSlotBytesLocked(*slot);
  }
  return true;
}

Status StoreImpl::DoSetVectorMemoryBudget(int64_t bytes) {
  if (bytes < 0) return Status::InvalidArgument("the vector memory budget must be >= 0 bytes");
  vector_budget_.store(bytes);
  // Copies beyond the new budget go now (largest last searched first is not tracked: all that do not fit).
  std::vector<std::shared_ptr<VectorSlot>> slots;
  {
    std::lock_guard lock(vectors_mu_);
    for (const auto& [name, slot] : vector_copies_) slots.push_back(slot);
  }
  for (const auto& slot : slots) {
    if (VectorBytesBesides(nullptr) <= bytes) break;
    std::lock_guard lock(slot->mu);
    DropVectorCopyLocked(*slot);
  }
  return Status::OK();
}

Result<HybridSearchResult> StoreImpl::DoSearchHybrid(const HybridSearchQuery& q) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(q.limit, 1, search::kMaxHits, "limit"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(q.candidates, q.limit, search::kMaxHits, "candidates"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(q.rrf_k, 1, 10'000, "rrf_k"));
  for (double w : {q.text_weight, q.vector_weight})
    if (!(w >= 0) || !std::isfinite(w)) return Status::InvalidArgument("weights must be finite and >= 0");
  if (q.text_weight == 0 && q.vector_weight == 0) return Status::InvalidArgument("both weights are 0");
  TextSearchQuery text = q.text;
  text.limit = q.candidates;
  VectorSearchQuery vector = q.vector;
  vector.filter = q.text.filter;
  vector.k = q.candidates;
  CONVSTORE_RETURN_IF_ERROR(search::ValidateQuery(text));
  CONVSTORE_RETURN_IF_ERROR(search::ValidateVectorQuery(vector));
  auto space = Read("search_hybrid", [&](sqlite::Connection& conn) { return search::RequireSpace(conn, vector.space); });
  if (!space.ok()) return space.status();
  if (search::TargetOf(space->spec.target) != text.target)
    return Status::InvalidArgument(fmt::format("embedding space '{}' holds {} but the text query searches {}",
                                               vector.space, EmbeddingTargetName(space->spec.target),
                                               text.target == TextSearchTarget::kMessages ? "messages"
                                                                                          : "conversations"));
  auto by_text = DoSearchText(text);
  if (!by_text.ok()) return by_text.status();
  auto by_vector = DoSearchVectors(vector);
  if (!by_vector.ok()) return by_vector.status();

  // Fusion by row: message id, or conversation id for conversation hits.
  std::map<std::string, HybridHit> fused;
  auto key_of = [](const std::string& message, const std::string& conversation) {
    return message.empty() ? conversation : message;
  };
  for (size_t i = 0; i < by_vector->hits.size(); ++i) {
    const VectorHit& h = by_vector->hits[i];
    HybridHit& f = fused[key_of(h.message_id, h.conversation_id)];
    f.row = h;
    f.vector_rank = static_cast<int>(i + 1);
    f.score += q.vector_weight / (q.rrf_k + static_cast<double>(i + 1));
  }
  for (size_t i = 0; i < by_text->hits.size(); ++i) {
    const TextSearchHit& h = by_text->hits[i];
    HybridHit& f = fused[key_of(h.message_id, h.conversation_id)];
    if (!f.vector_rank) search::CopyHitRow(h, f.row);
    f.text_rank = static_cast<int>(i + 1);
    f.snippet = h.snippet;
    f.score += q.text_weight / (q.rrf_k + static_cast<double>(i + 1));
  }
  HybridSearchResult result;
  result.unindexed = by_text->unindexed;
  for (auto& [key, hit] : fused) result.hits.push_back(std::move(hit));
  std::sort(result.hits.begin(), result.hits.end(), [](const HybridHit& a, const HybridHit& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.row.created_at != b.row.created_at) return a.row.created_at > b.row.created_at;
    return a.row.message_id + a.row.conversation_id > b.row.message_id + b.row.conversation_id;  // UUIDv7: newer
  });
  if (result.hits.size() > static_cast<size_t>(q.limit)) result.hits.resize(static_cast<size_t>(q.limit));
  return result;
}

}  // namespace convstore::api
