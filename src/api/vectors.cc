// Vector search's entry points: embedding spaces, their vectors, exact nearest-neighbour search over this handle's
// in-memory copy of a space, and hybrid search fusing it with full-text search (convstore/vectors.h).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "api/store_impl.h"
#include "api/search_filter.h"
#include "metadata/filter.h"
#include "search/text_search.h"
#include "search/vector_rows.h"
#include "search/vector_search.h"
#include "util/json_writer.h"

namespace convstore::api {

namespace {

// A copy holding twice as many slots as live rows (plus this) is read again from the table: forgotten rows then
// stop costing memory and scan time.
constexpr size_t kCompactSlack = 4096;

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
      out.push_back(PublicSpace(row, *n, 0));
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

Result<VectorSearchResult> StoreImpl::DoSearchVectors(const VectorSearchQuery& query) {
  CONVSTORE_RETURN_IF_ERROR(search::ValidateVectorQuery(query));
  std::optional<metadata::CompiledFilter> compiled;
  search::RowPredicate predicate;
  CONVSTORE_RETURN_IF_ERROR(CompileMetadata(query.filter, compiled, predicate));
  return Read("search_vectors", [&](sqlite::Connection& conn) -> Result<VectorSearchResult> {
    auto txn = sqlite::ReadTransaction::Begin(conn);  // the vectors, the filter's rows and the hits: one snapshot
    if (!txn.ok()) return txn.status();
    auto space = search::RequireSpace(conn, query.space);
    if (!space.ok()) return space.status();
    std::shared_ptr<VectorSlot> slot = VectorSlotOf(query.space);
    std::lock_guard lock(slot->mu);
    if (slot->copy && (!SameSpace(slot->copy->space(), *space) ||
                       slot->copy->slots() > 2 * slot->copy->live() + kCompactSlack)) {
      slot->copy.reset();
      slot->bytes = 0;
    }
    const int64_t budget = vector_budget_.load();
    if (!slot->copy) {
      auto n = search::CountVectors(conn, *space);
      if (!n.ok()) return n.status();
      if (search::VectorCopy::BytesFor(*space, *n, true) + VectorBytesBesides(slot.get()) > budget)
        return search::SearchStreamed(conn, *space, query, predicate);  // over the budget: no copy
      slot->copy = std::make_unique<search::VectorCopy>(*space, /*keep_float32=*/true);
    }
    auto result = search::SearchExact(conn, *slot->copy, query, predicate);
    // A refresh that failed part-way leaves the copy consistent (the rows read so far); a damaged row does not:
    // read it all again next time. A copy that grew past the budget is dropped after its search.
    if ((!result.ok() && result.status().code() == Code::kCorruption) ||
        slot->copy->bytes() + VectorBytesBesides(slot.get()) > budget) {
      slot->copy.reset();
      slot->bytes = 0;
    } else {
      slot->bytes = slot->copy->bytes();
    }
    return result;
  });
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
    slot->copy.reset();
    slot->bytes = 0;
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
