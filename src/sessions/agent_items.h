// Items of the OpenAI Agents SDK (Responses API input items) as convstore messages.
//
// An item is kept whole as the message's raw value; what convstore understands becomes first-class: a message
// item's role and text; a function_call as an assistant message that makes a pending tool call (its call_id, name
// and arguments parsed as JSON when they are JSON); a function_call_output as a tool message naming that call
// (which finishes it); a reasoning item as an assistant message holding its summary text; anything else as an
// assistant message without text. Stateless; thread-safe.
#pragma once
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "convstore/status.h"
#include "convstore/types.h"

namespace convstore::sessions {

// The message that stores `item` (`where` names it in errors, e.g. "items[3]"). kInvalidArgument when the item is
// not a JSON object or a field convstore reads has the wrong type.
Result<NewMessage> MessageFromAgentItem(const nlohmann::json& item, std::string_view where);

// The messages that store a JSON array of items, in order (kInvalidArgument: not an array, or a bad item).
Result<std::vector<NewMessage>> MessagesFromAgentItems(std::string_view items_json);

// The text of a message item's content: a string, or the "text" (or "refusal") parts of a content list.
std::string ContentText(const nlohmann::json& content);

}  // namespace convstore::sessions
