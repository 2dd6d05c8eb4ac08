// Documented limits on values accepted by convstore. A value beyond a limit is refused with Code::kTooLarge
// (sizes) or Code::kInvalidArgument (ranges) and nothing is written.
#ifndef CONVSTORE_LIMITS_H_
#define CONVSTORE_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace convstore::limits {

inline constexpr std::size_t kMaxKeyBytes = 256;                 // user/team keys, ids, request ids, cursors
inline constexpr std::size_t kMaxNameBytes = 1024;               // names, emails, roles, model names
inline constexpr std::size_t kMaxTitleBytes = 4096;              // conversation titles
inline constexpr std::size_t kMaxSystemPromptBytes = 1 << 20;    // 1 MiB
inline constexpr std::size_t kMaxContentBytes = 16 << 20;        // 16 MiB per message
inline constexpr std::size_t kMaxMetadataBytes = 1 << 20;        // 1 MiB of JSON per metadata document
inline constexpr std::size_t kMaxToolPayloadBytes = 16 << 20;    // 16 MiB of JSON per tool input/output
inline constexpr std::size_t kMaxRequestBytes = 64 << 20;        // 64 MiB per JSON request across the C ABI
inline constexpr int kMaxJsonDepth = 64;                         // nesting of any JSON document
inline constexpr std::size_t kMaxBatchMessages = 10000;          // messages per AddMessages call
inline constexpr std::size_t kMaxBatchBytes = 64 << 20;          // content + metadata + raw of one AddMessages call
inline constexpr int kMaxListLimit = 1000;                       // page size of list calls
inline constexpr int kMaxEmbeddingDimension = 4096;              // floats per vector of an embedding space
inline constexpr std::size_t kMaxEmbeddingsPerPut = 100'000;     // vectors per PutEmbeddings call
inline constexpr int64_t kMaxTokenCount = 10'000'000'000;        // tokens of one kind in one message (1e10)
inline constexpr int64_t kMaxCostNanoUsd = 1'000'000'000'000'000;  // $1,000,000 per message
inline constexpr int64_t kMaxLatencyUs = 86'400'000'000;         // one day
inline constexpr int64_t kMaxMaxTokens = 10'000'000'000;         // conversation max_tokens
inline constexpr double kMaxTemperature = 10.0;                  // conversation temperature in [0, 10]
// Timestamps are integer microseconds since 1970-01-01 UTC within [kMinTimestampUs, kMaxTimestampUs]. The lower
// bound refuses what is plausibly seconds or milliseconds: int(time.time()) (1.7e9) or a JavaScript Date.now()
// (1.7e12) is below 10^14 µs for any date before the year 5138, and would otherwise be stored in 1970. The upper
// bound refuses nanoseconds (1.7e18 today).
inline constexpr int64_t kMinTimestampUs = 100'000'000'000'000;   // 1973-03-03T09:46:40Z
inline constexpr int64_t kMaxTimestampUs = 253402300799999999;   // 9999-12-31T23:59:59.999999Z
inline constexpr int64_t kMaxTeamBudgetNanoUsd = 1'000'000'000'000'000'000;  // $1e9 per month

}  // namespace convstore::limits

#endif  // CONVSTORE_LIMITS_H_
