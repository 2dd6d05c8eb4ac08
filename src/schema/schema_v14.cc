// Migration 14: a conversation's stored counters (message_count, token totals, cost, next_position, updated_at)
// lag its newest messages, so adding a message writes no conversation row: the messages at or past the stored
// next_position are pending and every reader adds them (records/conversation_counters.h). No table changes; the
// version tells a convstore that reads the stored counters as exact not to open the file. Every counter is exact
// when the migration runs (nothing is pending).
#include "schema/versions.h"

namespace convstore::schema {

namespace {

constexpr const char* kSchemaV14 = R"sql(
-- Nothing to change in the tables: every stored counter is exact at this point.
SELECT 1;
)sql";

}  // namespace

Migration SchemaV14() { return {14, "conversation counters count the newest messages when read", kSchemaV14}; }

}  // namespace convstore::schema
