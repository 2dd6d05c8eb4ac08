// convstore/vectors.h: semantic search over embeddings the caller computes (convstore computes none) — named
// embedding spaces of a fixed dimension for messages or conversations, exact k-nearest-neighbour search (cosine, dot
// product, L2) with the full-text filters applied before ranking, optional int8 quantisation with exact rescoring,
// and hybrid search fusing full-text and vector ranks. docs/search.md.
//
// Vectors live in ordinary tables of the store's file (so backups, the change journal, retention and erasure cover
// them); searches score an in-memory copy that follows the tables — writes of this handle at once, other handles'
// and other processes' at the next search — and never return a vector whose row is gone.
//
// Thread-safe as the store is.
#ifndef CONVSTORE_VECTORS_H_
#define CONVSTORE_VECTORS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convstore/export.h"
#include "convstore/search.h"
#include "convstore/status.h"
#include "convstore/types.h"

namespace convstore {

// How two vectors compare. Scores are "higher is closer" for every metric.
enum class VectorMetric {
  kCosine = 0,  // score = cosine similarity in [-1, 1] (zero vectors are refused)
  kDot = 1,     // score = dot product
  kL2 = 2,      // score = -(Euclidean distance); VectorHit::distance is the distance itself
};

// How the in-memory copy is kept.
enum class VectorQuantization {
  kNone = 0,  // float32: exact
  kInt8 = 1,  // an int8 copy (one scale per vector) is scanned first, its best candidates rescored exactly in
              // float32: the same results as kNone unless a true neighbour falls outside the rescored candidates
};

enum class EmbeddingTarget {
  kMessages = 0,
  kConversations = 1,
};

struct EmbeddingSpaceSpec {
  std::string name{};                // 1..64 bytes of [A-Za-z0-9_.-]
  EmbeddingTarget target = EmbeddingTarget::kMessages;
  int dimension = 0;                 // 1..4096
  VectorMetric metric = VectorMetric::kCosine;
  VectorQuantization quantization = VectorQuantization::kNone;
};

// An approximate nearest-neighbour index of a space (HNSW): for large unfiltered searches, far faster than the
// exact scan and nearly as good (recall measured when it is built, VectorIndexInfo). Derived from the space's
// vectors and kept in memory only: the setting is stored with the space, and every handle builds its index from
// its in-memory copy — when CreateVectorIndex is called, or else at its first search that can use one — and keeps
// it current with every write, its own and other processes'. A filtered search, or one asking `exact`, never uses
// it. Larger m and ef_construction: better recall, slower build, more memory; larger ef_search: better recall,
// slower search.
struct VectorIndexSpec {
  int m = 16;                        // links per node, 2..100
  int ef_construction = 200;         // candidate list while building, m..10000
  int ef_search = 64;                // candidate list while searching (at least k + a margin), 1..10000
};

struct VectorIndexInfo {
  std::string space{};
  VectorIndexSpec spec{};
  int64_t vectors = 0;               // live vectors in this handle's index
  int64_t memory_bytes = 0;          // what this handle's index holds
  double build_seconds = 0;          // this call's build (0 when the index was already built and current)
  // recall@10 of the index against the exact search, measured at the build over `recall_queries` of the space's own
  // vectors as queries (each query's own row left out of both lists); -1 when the space has fewer than 11 vectors.
  double recall_at_10 = -1;
  int recall_queries = 0;
};

struct EmbeddingSpace {
  EmbeddingSpaceSpec spec{};
  int64_t vectors = 0;               // rows of the target with a vector in this space
  Micros created_at = 0;
  int64_t memory_bytes = 0;          // this handle's in-memory copy of the space and its index (0 before a search)
  std::optional<VectorIndexSpec> index{};  // the space's approximate index setting, when it has one
};

// One vector for one row: a message id (or a conversation id for a conversation space).
struct EmbeddingInput {
  std::string id{};
  std::vector<float> vector{};       // exactly the space's dimension; finite values; cosine: not all zero
};

struct VectorSearchQuery {
  std::string space{};
  std::vector<float> vector{};       // the space's dimension, finite
  int k = 10;                        // 1..1000
  SearchFilter filter{};             // as full-text search's; applied before ranking: k hits whenever k match
  // int8 spaces: how many candidates per hit the int8 scan keeps for exact rescoring (1..100, default 10).
  int rescore_factor = 10;
  // true: the exact search even when the space has an approximate index.
  bool exact = false;
  // The index's candidate list for this search (1..10000); 0: the index's ef_search.
  int ef_search = 0;
};

struct VectorHit {
  std::string message_id{};          // "" for a conversation space
  std::string conversation_id{};
  std::string conversation_title{};
  std::string user_key{};
  std::string role{};                // "" for a conversation space
  std::string model{};
  std::string content{};             // the message's content, or the conversation's title
  double score = 0;                  // higher is closer (VectorMetric)
  double distance = 0;               // cosine: 1 - similarity; dot: -dot; L2: the Euclidean distance
  Micros created_at = 0;
};

struct VectorSearchResult {
  std::vector<VectorHit> hits{};     // closest first; ties by newest row first
  std::string plan{};                // "exact", "exact int8 + rescore", "exact (streamed)" or "hnsw"
  int64_t candidates = 0;            // rows the filter left (every vector of the space without a filter)
};

// Full text and vectors fused by reciprocal rank fusion: score = Σ weight / (rrf_k + rank) over the lists a row is
// in (rank 1 = best); each list takes `candidates` rows (the same filter applies to both).
struct HybridSearchQuery {
  TextSearchQuery text{};            // its filter is used for both; its limit is ignored
  VectorSearchQuery vector{};        // its filter and k are ignored
  int limit = 10;                    // 1..1000
  int candidates = 100;              // per list, limit..1000
  double text_weight = 1.0;          // >= 0, not both 0
  double vector_weight = 1.0;
  int rrf_k = 60;                    // 1..10000
};

struct HybridHit {
  VectorHit row{};                   // the row (score/distance: the vector list's, when it is in it)
  double score = 0;                  // the fused score
  std::optional<int> text_rank{};    // 1-based ranks in each list, when in it
  std::optional<int> vector_rank{};
  std::string snippet{};             // the full-text snippet, when in that list
};

struct HybridSearchResult {
  std::vector<HybridHit> hits{};     // best fused score first; ties by newest row first
  int64_t unindexed = 0;             // the full-text list's
};

class CONVSTORE_EXPORT VectorSearch {
 public:
  // Creates a space (kConflict when the name exists with another spec; the same spec again is OK).
  Result<EmbeddingSpace> CreateEmbeddingSpace(const EmbeddingSpaceSpec& spec);
  Result<std::vector<EmbeddingSpace>> ListEmbeddingSpaces();
  // Drops a space and every vector in it (kNotFound for an unknown name).
  Status DropEmbeddingSpace(std::string_view name);
  // Stores vectors (replacing a row's earlier one) in one transaction: all or nothing. kNotFound for an unknown
  // space or row; kInvalidArgument for a wrong dimension, a non-finite value, a zero vector in a cosine space, or
  // the same id twice.
  Status PutEmbeddings(std::string_view space, const std::vector<EmbeddingInput>& rows);
  // Removes a row's vector; false when it had none.
  Result<bool> DeleteEmbedding(std::string_view space, std::string_view id);
  // The row's vector as stored, or nullopt.
  Result<std::optional<std::vector<float>>> GetEmbedding(std::string_view space, std::string_view id);
  Result<VectorSearchResult> SearchVectors(const VectorSearchQuery& query);
  Result<HybridSearchResult> SearchHybrid(const HybridSearchQuery& query);
  // The most memory this handle's in-memory copies of embedding spaces may hold, in bytes (default 4 GiB). A
  // search of a space whose copy would not fit beside the others reads the space's vectors from the file in blocks
  // instead — exact, slower, holding only its best candidates; a copy that outgrows the budget is dropped after its
  // search. 0: no copies. kInvalidArgument when negative.
  Status SetVectorMemoryBudget(int64_t bytes);
  // Gives a space an approximate index (or changes its setting) and builds this handle's (kNotFound for an unknown
  // space; kInvalidArgument for a spec out of range; kTooLarge when the copy and the index would not fit in the
  // memory budget). On a space whose index has this spec already, builds this handle's if it has none (a process
  // calls it at startup to pay the build there rather than in its first search). Builds with every core.
  Result<VectorIndexInfo> CreateVectorIndex(std::string_view space, const VectorIndexSpec& spec = {});
  // Removes a space's index setting (every handle stops using its index at its next search); false when it had none.
  Result<bool> DropVectorIndex(std::string_view space);

 protected:
  VectorSearch() = default;
  ~VectorSearch() = default;
};

inline constexpr int64_t kDefaultVectorMemoryBudgetBytes = int64_t{4} << 30;

// "cosine", "dot", "l2"; "none", "int8"; "messages", "conversations" — and back (kInvalidArgument for another
// name).
CONVSTORE_EXPORT const char* VectorMetricName(VectorMetric metric);
CONVSTORE_EXPORT Result<VectorMetric> ParseVectorMetric(std::string_view name);
CONVSTORE_EXPORT const char* VectorQuantizationName(VectorQuantization quantization);
CONVSTORE_EXPORT Result<VectorQuantization> ParseVectorQuantization(std::string_view name);
CONVSTORE_EXPORT const char* EmbeddingTargetName(EmbeddingTarget target);
CONVSTORE_EXPORT Result<EmbeddingTarget> ParseEmbeddingTarget(std::string_view name);

}  // namespace convstore

#endif  // CONVSTORE_VECTORS_H_
