#include "search/vector_rows.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <bit>
#include <cmath>
#include <cstring>

#include "records/lookups.h"
#include "search/vector_index.h"
#include "util/json_input.h"
#include "util/status_macros.h"
#include "util/validate.h"

namespace convstore::search {

namespace {

// The SQL of one target's table (fixed strings: the statement cache is keyed by their address).
struct VectorTableSql {
  const char* put;
  const char* remove;
  const char* get;
  const char* count;
};

const VectorTableSql& VectorSqlOf(EmbeddingTarget target) {
  static const VectorTableSql kMessages = {
      "INSERT OR REPLACE INTO message_embeddings(space_id, message_id, vector) VALUES (?1, ?2, ?3)",
      "DELETE FROM message_embeddings WHERE space_id = ?1 AND message_id = ?2",
      "SELECT vector FROM message_embeddings WHERE space_id = ?1 AND message_id = ?2",
      "SELECT count(*) FROM message_embeddings WHERE space_id = ?1"};
  static const VectorTableSql kConversations = {
      "INSERT OR REPLACE INTO conversation_embeddings(space_id, conversation_id, vector) VALUES (?1, ?2, ?3)",
      "DELETE FROM conversation_embeddings WHERE space_id = ?1 AND conversation_id = ?2",
      "SELECT vector FROM conversation_embeddings WHERE space_id = ?1 AND conversation_id = ?2",
      "SELECT count(*) FROM conversation_embeddings WHERE space_id = ?1"};
  return target == EmbeddingTarget::kMessages ? kMessages : kConversations;
}

SpaceRow SpaceOf(const sqlite::Stmt& st) {
  SpaceRow s;
  s.id = st.Int(0);
  s.spec.name = st.String(1);
  s.spec.target = static_cast<EmbeddingTarget>(st.Int(2));
  s.spec.dimension = static_cast<int>(st.Int(3));
  s.spec.metric = static_cast<VectorMetric>(st.Int(4));
  s.spec.quantization = static_cast<VectorQuantization>(st.Int(5));
  s.created_at = st.Int(6);
  return s;
}

}  // namespace

Status ValidateSpaceName(std::string_view name) {
  if (name.empty() || name.size() > kMaxSpaceNameBytes)
    return Status::InvalidArgument(fmt::format("a space name is 1 to {} bytes", kMaxSpaceNameBytes));
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) return Status::InvalidArgument("a space name is made of letters, digits, '_', '-' and '.'");
  }
  return Status::OK();
}

Status ValidateSpec(const EmbeddingSpaceSpec& spec) {
  CONVSTORE_RETURN_IF_ERROR(ValidateSpaceName(spec.name));
  if (spec.target != EmbeddingTarget::kMessages && spec.target != EmbeddingTarget::kConversations)
    return Status::InvalidArgument("unknown embedding target");
  CONVSTORE_RETURN_IF_ERROR(util::CheckRange(spec.dimension, 1, kMaxDimension, "dimension"));
  if (spec.metric != VectorMetric::kCosine && spec.metric != VectorMetric::kDot && spec.metric != VectorMetric::kL2)
    return Status::InvalidArgument("unknown vector metric");
  if (spec.quantization != VectorQuantization::kNone && spec.quantization != VectorQuantization::kInt8)
    return Status::InvalidArgument("unknown vector quantization");
  return Status::OK();
}

Status CheckVector(const std::vector<float>& v, const EmbeddingSpaceSpec& spec, std::string_view what) {
  if (v.size() != static_cast<size_t>(spec.dimension))
    return Status::InvalidArgument(fmt::format("{} has {} values; space '{}' has dimension {}", what, v.size(),
                                               spec.name, spec.dimension));
  bool nonzero = false;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) return Status::InvalidArgument(fmt::format("{}[{}] is not a finite number", what, i));
    nonzero = nonzero || v[i] != 0.0f;
  }
  if (spec.metric == VectorMetric::kCosine && !nonzero)
    return Status::InvalidArgument(fmt::format("{} is all zeros: it has no direction for cosine", what));
  return Status::OK();
}

const char* VectorTable(EmbeddingTarget target) {
  return target == EmbeddingTarget::kMessages ? "message_embeddings" : "conversation_embeddings";
}

Result<std::optional<SpaceRow>> FindSpace(sqlite::Connection& conn, std::string_view name) {
  std::optional<SpaceRow> found;
  auto rows = conn.ForEachRow(
      "SELECT id, name, target, dimension, metric, quantization, created_at FROM embedding_spaces WHERE name = ?1",
      "find an embedding space",
      [&](const sqlite::Stmt& st) {
        found = SpaceOf(st);
        return false;
      },
      name);
  if (!rows.ok()) return rows.status();
  if (found && !ValidateSpec(found->spec).ok())
    return Status::Corruption(fmt::format("embedding space '{}' is stored with an impossible spec", found->spec.name));
  return found;
}

Result<SpaceRow> RequireSpace(sqlite::Connection& conn, std::string_view name) {
  auto found = FindSpace(conn, name);
  if (!found.ok()) return found.status();
  if (!*found) return Status::NotFound(fmt::format("embedding space '{}' does not exist", name));
  return std::move(**found);
}

Result<SpaceRow> CreateSpace(sqlite::Connection& conn, const EmbeddingSpaceSpec& spec, Micros now) {
  auto existing = FindSpace(conn, spec.name);
  if (!existing.ok()) return existing.status();
  if (*existing) {
    const EmbeddingSpaceSpec& e = (*existing)->spec;
    if (e.target != spec.target || e.dimension != spec.dimension || e.metric != spec.metric ||
        e.quantization != spec.quantization)
      return Status::Conflict(fmt::format("embedding space '{}' exists with another target, dimension, metric or "
                                          "quantization",
                                          spec.name));
    return std::move(**existing);
  }
  CONVSTORE_RETURN_IF_ERROR(conn.Run(
      "INSERT INTO embedding_spaces(name, target, dimension, metric, quantization, created_at)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
      "create an embedding space", spec.name, int64_t{static_cast<int>(spec.target)}, int64_t{spec.dimension},
      int64_t{static_cast<int>(spec.metric)}, int64_t{static_cast<int>(spec.quantization)}, now));
  return RequireSpace(conn, spec.name);
}

Result<std::vector<SpaceRow>> ListSpaces(sqlite::Connection& conn) {
  std::vector<SpaceRow> spaces;
  auto rows = conn.ForEachRow(
      "SELECT id, name, target, dimension, metric, quantization, created_at FROM embedding_spaces ORDER BY name",
      "list the embedding spaces",
      [&](const sqlite::Stmt& st) {
        spaces.push_back(SpaceOf(st));
        return true;
      });
  if (!rows.ok()) return rows.status();
  for (const SpaceRow& s : spaces)
    if (!ValidateSpec(s.spec).ok())
      return Status::Corruption(fmt::format("embedding space '{}' is stored with an impossible spec", s.spec.name));
  return spaces;
}

Result<int64_t> CountVectors(sqlite::Connection& conn, const SpaceRow& space) {
  auto n = conn.QueryInt(VectorSqlOf(space.spec.target).count, "count a space's vectors", space.id);
  if (!n.ok()) return n.status();
  return n->value_or(0);
}

Result<bool> DropSpace(sqlite::Connection& conn, std::string_view name) {
  auto space = FindSpace(conn, name);
  if (!space.ok()) return space.status();
  if (!*space) return false;
  auto index = DeleteIndexSpec(conn, **space);
  if (!index.ok()) return index.status();
  CONVSTORE_RETURN_IF_ERROR(conn.Run("DELETE FROM embedding_spaces WHERE id = ?1", "drop an embedding space",
                                     (*space)->id));
  return sqlite3_changes(conn.raw()) > 0;
}

namespace {

std::string IndexKey(const SpaceRow& space) { return fmt::format("vector_index.{}", space.id); }

}  // namespace

Result<std::optional<VectorIndexSpec>> GetIndexSpec(sqlite::Connection& conn, const SpaceRow& space) {
  auto value = conn.QueryRow("SELECT value FROM meta WHERE key = ?1", "read a vector index setting",
                             [](const sqlite::Stmt& st) { return std::string(st.Text(0)); }, IndexKey(space));
  if (!value.ok()) return value.status();
  if (!*value) return std::optional<VectorIndexSpec>();
  auto json = util::ParseJson(**value, "a vector index setting", 4096);
  const auto bad = [&] {
    return Status::Corruption(
        fmt::format("the vector index setting of space '{}' is not a valid one: {}", space.spec.name, **value));
  };
  if (!json.ok() || !json->is_object()) return bad();
  VectorIndexSpec spec;
  for (auto [key, field] : {std::pair{"m", &spec.m}, std::pair{"ef_construction", &spec.ef_construction},
                            std::pair{"ef_search", &spec.ef_search}}) {
    auto it = json->find(key);
    if (it == json->end() || !it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 1'000'000)
      return bad();
    *field = it->get<int>();
  }
  if (json->value("kind", "") != "hnsw" || !ValidateIndexSpec(spec).ok()) return bad();
  return std::optional<VectorIndexSpec>(spec);
}

Status PutIndexSpec(sqlite::Connection& conn, const SpaceRow& space, const VectorIndexSpec& spec) {
  const std::string value = fmt::format(R"({{"kind":"hnsw","m":{},"ef_construction":{},"ef_search":{}}})", spec.m,
                                        spec.ef_construction, spec.ef_search);
  return conn.Run("INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                  "store a vector index setting", IndexKey(space), value);
}

Result<bool> DeleteIndexSpec(sqlite::Connection& conn, const SpaceRow& space) {
  CONVSTORE_RETURN_IF_ERROR(
      conn.Run("DELETE FROM meta WHERE key = ?1", "remove a vector index setting", IndexKey(space)));
  return sqlite3_changes(conn.raw()) > 0;
}

Result<int64_t> TargetRow(sqlite::Connection& conn, EmbeddingTarget target, std::string_view id) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(id, target == EmbeddingTarget::kMessages ? "message id" : "conversation id"));
  if (target == EmbeddingTarget::kConversations) return records::FindConversationRow(conn, id);
  auto row = conn.QueryInt("SELECT id FROM messages WHERE uid = ?1", "find message", id);
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound(fmt::format("message '{}' does not exist", id));
  return **row;
}

std::string EncodeVector(const float* values, size_t dimension) {
  std::string bytes(dimension * sizeof(float), '\0');
  std::memcpy(bytes.data(), values, bytes.size());
  if constexpr (std::endian::native == std::endian::big) {
    for (size_t i = 0; i < bytes.size(); i += 4) {
      std::swap(bytes[i], bytes[i + 3]);
      std::swap(bytes[i + 1], bytes[i + 2]);
    }
  }
  return bytes;
}

bool DecodeVector(std::string_view bytes, size_t dimension, float* out) {
  if (bytes.size() != dimension * sizeof(float)) return false;
  if constexpr (std::endian::native == std::endian::big) {
    for (size_t i = 0; i < dimension; ++i) {
      const char b[4] = {bytes[4 * i + 3], bytes[4 * i + 2], bytes[4 * i + 1], bytes[4 * i]};
      std::memcpy(&out[i], b, 4);
    }
  } else {
    std::memcpy(out, bytes.data(), bytes.size());
  }
  for (size_t i = 0; i < dimension; ++i)
    if (!std::isfinite(out[i])) return false;
  return true;
}

Status PutVector(sqlite::Connection& conn, const SpaceRow& space, int64_t row, const std::vector<float>& v) {
  const std::string bytes = EncodeVector(v.data(), v.size());
  auto st = conn.Prepare(VectorSqlOf(space.spec.target).put);
  if (!st.ok()) return st.status();
  st->Bind(1, space.id).Bind(2, row).BindBlob(3, bytes);
  return st->Run("store a vector");
}

Result<bool> DeleteVector(sqlite::Connection& conn, const SpaceRow& space, int64_t row) {
  CONVSTORE_RETURN_IF_ERROR(conn.Run(VectorSqlOf(space.spec.target).remove, "delete a vector", space.id, row));
  return sqlite3_changes(conn.raw()) > 0;
}

Result<std::optional<std::vector<float>>> GetVector(sqlite::Connection& conn, const SpaceRow& space, int64_t row) {
  std::optional<std::vector<float>> out;
  bool damaged = false;
  auto rows = conn.ForEachRow(
      VectorSqlOf(space.spec.target).get, "read a vector",
      [&](const sqlite::Stmt& st) {
        std::vector<float> v(static_cast<size_t>(space.spec.dimension));
        damaged = !DecodeVector(st.Blob(0), v.size(), v.data());
        out = std::move(v);
        return false;
      },
      space.id, row);
  if (!rows.ok()) return rows.status();
  if (damaged)
    return Status::Corruption(fmt::format("a vector of space '{}' is not {} finite float32 values", space.spec.name,
                                          space.spec.dimension));
  return out;
}

}  // namespace convstore::search
