// Agents SDK items appended as messages: mapped by the sessions engine, written as AddMessages writes.
#include "api/store_impl.h"
#include "convstore/limits.h"
#include "sessions/agent_items.h"
#include "util/validate.h"

namespace convstore::api {

namespace {

// Puts `usage` on the first assistant message of the batch (kInvalidArgument when there is none).
Status RecordUsage(std::vector<NewMessage>& batch, const AgentUsage& u) {
  const bool any = u.input_tokens || u.output_tokens || u.cached_input_tokens || u.reasoning_tokens ||
                   !u.model.empty();
  if (!any) return Status::OK();
  for (NewMessage& m : batch) {
    if (m.role != Role::kAssistant) continue;
    m.tokens_input = u.input_tokens;
    m.tokens_output = u.output_tokens;
    m.tokens_cached_input = u.cached_input_tokens;
    m.tokens_reasoning = u.reasoning_tokens;
    m.model = u.model;
    return Status::OK();
  }
  return Status::InvalidArgument("usage was given but no item is an assistant item to record it on");
}

}  // namespace

Result<int64_t> StoreImpl::DoAddAgentItems(std::string_view conversation_id, std::string_view items_json,
                                          const AgentUsage& usage) {
  CONVSTORE_RETURN_IF_ERROR(util::CheckKey(conversation_id, "conversation id"));
  CONVSTORE_RETURN_IF_ERROR(util::CheckText(usage.model, "usage.model", limits::kMaxNameBytes));
  auto batch = sessions::MessagesFromAgentItems(items_json);
  if (!batch.ok()) return batch.status();
  if (batch->empty()) return int64_t{0};
  CONVSTORE_RETURN_IF_ERROR(RecordUsage(*batch, usage));
  auto added = DoAddMessages(conversation_id, *batch);
  if (!added.ok()) return added.status();
  return static_cast<int64_t>(added->size());
}

}  // namespace convstore::api
