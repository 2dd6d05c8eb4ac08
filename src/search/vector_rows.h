// Embedding spaces and their vectors in the file (schema migration 12): a space's row, the vectors of its target's
// rows as BLOBs of little-endian float32, and the checks every vector passes before it is stored or used.
//
// Not thread-safe: one connection's transaction.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/limits.h"
#include "convstore/status.h"
#include "convstore/vectors.h"
#include "sqlite/connection.h"

namespace convstore::search {

inline constexpr int kMaxDimension = limits::kMaxEmbeddingDimension;
inline constexpr size_t kMaxSpaceNameBytes = 64;
inline constexpr size_t kMaxVectorsPerPut = limits::kMaxEmbeddingsPerPut;

// A space as stored: its row id and spec.
struct SpaceRow {
  int64_t id = 0;
  EmbeddingSpaceSpec spec{};
  Micros created_at = 0;
};

Status ValidateSpec(const EmbeddingSpaceSpec& spec);
Status ValidateSpaceName(std::string_view name);
// A vector of `spec`'s dimension, every value finite, not all zero in a cosine space. `what` names it in errors.
Status CheckVector(const std::vector<float>& v, const EmbeddingSpaceSpec& spec, std::string_view what);

// The table of `target`'s vectors and its row column: message_embeddings / message_id or conversation_embeddings /
// conversation_id.
const char* VectorTable(EmbeddingTarget target);

// Creates the space, or returns the one of that name when its spec is the same (kConflict when it differs).
Result<SpaceRow> CreateSpace(sqlite::Connection& conn, const EmbeddingSpaceSpec& spec, Micros now);
// The space of that name, or nullopt.
Result<std::optional<SpaceRow>> FindSpace(sqlite::Connection& conn, std::string_view name);
// The space of that name, or kNotFound naming it.
Result<SpaceRow> RequireSpace(sqlite::Connection& conn, std::string_view name);
Result<std::vector<SpaceRow>> ListSpaces(sqlite::Connection& conn);
Result<int64_t> CountVectors(sqlite::Connection& conn, const SpaceRow& space);
// Drops the space and its vectors; false when there was none.
Result<bool> DropSpace(sqlite::Connection& conn, std::string_view name);

// A space's approximate index setting (vector_index.h), kept in `meta` under "vector_index.<space id>": nullopt when
// it has none. Dropping the space removes it.
Result<std::optional<VectorIndexSpec>> GetIndexSpec(sqlite::Connection& conn, const SpaceRow& space);
Status PutIndexSpec(sqlite::Connection& conn, const SpaceRow& space, const VectorIndexSpec& spec);
// False when the space had none.
Result<bool> DeleteIndexSpec(sqlite::Connection& conn, const SpaceRow& space);

// The row id (messages.id or conversations.id) of a public id of the space's target; kNotFound when there is none.
Result<int64_t> TargetRow(sqlite::Connection& conn, EmbeddingTarget target, std::string_view id);

// Little-endian float32 bytes of a vector, and back (false when the bytes are not `dimension` finite floats).
std::string EncodeVector(const float* values, size_t dimension);
bool DecodeVector(std::string_view bytes, size_t dimension, float* out);

// Stores a row's vector, replacing an earlier one (a replaced vector gets a new id).
Status PutVector(sqlite::Connection& conn, const SpaceRow& space, int64_t row, const std::vector<float>& v);
// Removes a row's vector; false when it had none.
Result<bool> DeleteVector(sqlite::Connection& conn, const SpaceRow& space, int64_t row);
// A row's vector as stored; kCorruption when its bytes are not the space's dimension of finite floats.
Result<std::optional<std::vector<float>>> GetVector(sqlite::Connection& conn, const SpaceRow& space, int64_t row);

}  // namespace convstore::search
