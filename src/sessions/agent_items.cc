#include "sessions/agent_items.h"

#include <fmt/format.h>

#include "convstore/limits.h"
#include "util/json_input.h"
#include "util/status_macros.h"

namespace convstore::sessions {

using nlohmann::json;

namespace {

// A string field of the item, "" when absent or null; kInvalidArgument when present with another type.
Status StringField(const json& item, const char* name, std::string_view where, std::string& out) {
  auto it = item.find(name);
  if (it == item.end() || it->is_null()) return Status::OK();
  if (!it->is_string()) return Status::InvalidArgument(fmt::format("{}.{} must be a string", where, name));
  out = it->get<std::string>();
  return Status::OK();
}

}  // namespace

std::string ContentText(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (!content.is_array()) return text;
  for (const json& part : content) {
    if (!part.is_object()) continue;
    for (const char* key : {"text", "refusal"}) {
      auto it = part.find(key);
      if (it != part.end() && it->is_string()) {
        text += it->get_ref<const std::string&>();
        break;
      }
    }
  }
  return text;
}

Result<NewMessage> MessageFromAgentItem(const json& item, std::string_view where) {
  if (!item.is_object()) return Status::InvalidArgument(fmt::format("{} must be a JSON object", where));
  NewMessage m;
  m.raw_json = item.dump();
  std::string type, role;
  CONVSTORE_RETURN_IF_ERROR(StringField(item, "type", where, type));
  CONVSTORE_RETURN_IF_ERROR(StringField(item, "role", where, role));
  if (type == "function_call") {
    NewToolCall call;
    CONVSTORE_RETURN_IF_ERROR(StringField(item, "name", where, call.tool_name));
    if (call.tool_name.empty()) call.tool_name = "function";
    CONVSTORE_RETURN_IF_ERROR(StringField(item, "call_id", where, call.call_id));
    std::string arguments;
    CONVSTORE_RETURN_IF_ERROR(StringField(item, "arguments", where, arguments));
    // The arguments are JSON text as the model wrote it; kept as a JSON string when they do not parse.
    json parsed = json::parse(arguments.empty() ? std::string("{}") : arguments, nullptr, false);
    call.input_json = parsed.is_discarded() ? json(arguments).dump() : parsed.dump();
    call.status = ToolStatus::kPending;
    m.role = Role::kAssistant;
    m.tool_calls.push_back(std::move(call));
  } else if (type == "function_call_output") {
    m.role = Role::kTool;
    auto output = item.find("output");
    if (output != item.end() && output->is_string()) m.content = output->get<std::string>();
    else if (output != item.end() && !output->is_null()) m.content = output->dump();
    CONVSTORE_RETURN_IF_ERROR(StringField(item, "call_id", where, m.tool_call_id));
  } else if (type == "reasoning") {
    m.role = Role::kAssistant;
    auto summary = item.find("summary");
    if (summary != item.end()) m.content = ContentText(*summary);
  } else if ((type.empty() || type == "message") &&
             (role == "user" || role == "assistant" || role == "system" || role == "developer")) {
    m.role = *ParseRole(role);
    auto content = item.find("content");
    if (content != item.end()) m.content = ContentText(*content);
  } else {
    m.role = Role::kAssistant;  // an item type convstore does not know: kept verbatim, without text
  }
  return m;
}

Result<std::vector<NewMessage>> MessagesFromAgentItems(std::string_view items_json) {
  auto parsed = util::ParseJson(items_json, "items", limits::kMaxRequestBytes, limits::kMaxJsonDepth + 1);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_array()) return Status::InvalidArgument("items must be a JSON array of item objects");
  if (parsed->size() > limits::kMaxBatchMessages)
    return Status::TooLarge(
        fmt::format("{} items in one call; the limit is {}", parsed->size(), limits::kMaxBatchMessages));
  std::vector<NewMessage> out;
  out.reserve(parsed->size());
  for (size_t i = 0; i < parsed->size(); ++i) {
    auto m = MessageFromAgentItem((*parsed)[i], fmt::format("items[{}]", i));
    if (!m.ok()) return m.status();
    out.push_back(std::move(*m));
  }
  return out;
}

}  // namespace convstore::sessions
