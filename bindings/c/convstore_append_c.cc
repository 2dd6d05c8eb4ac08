// The C ABI's scalar message appends (convstore_append_message, convstore_append_messages; declared in
// convstore.h): the common message's fields as C arguments and its results as C values, no JSON either way. They
// build the same NewMessage the JSON entry points decode and call the same AddMessage / AddMessages.
#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "c_support.h"
#include "convstore/limits.h"
#include "util/status_macros.h"

using convstore::Message;
using convstore::NewMessage;
using convstore::Status;
using namespace convstore::capi;

namespace {

std::optional<int64_t> Given(int64_t v) {
  return v == CONVSTORE_UNSET ? std::nullopt : std::optional<int64_t>(v);
}

// One message from the arguments (`where` names it in errors as the C++ checks do: "" or "messages[3].").
Status Build(const std::string& where, const char* role, const char* content, int64_t content_len, const char* model,
             int64_t tokens_input, int64_t tokens_output, int64_t cost_nanousd, int64_t latency_us, NewMessage& m) {
  if (role == nullptr) return NullArg((where + "role").c_str());
  if (content == nullptr) return NullArg((where + "content").c_str());
  auto parsed = convstore::ParseRole(role);
  if (!parsed)
    return Status::InvalidArgument(
        fmt::format("{}role is '{}', not one of user, assistant, system, developer, tool", where, role));
  if (content_len < -1)
    return Status::InvalidArgument(
        fmt::format("{}content_len is {}; it must be a length in bytes, or -1 for NUL-terminated", where,
                    content_len));
  const size_t length = content_len == -1 ? std::strlen(content) : static_cast<size_t>(content_len);
  if (length > convstore::limits::kMaxContentBytes)  // refused before it is copied
    return Status::TooLarge(fmt::format("{}content is {} bytes; the limit is {}", where, length,
                                        convstore::limits::kMaxContentBytes));
  m.role = *parsed;
  m.content.assign(content, length);
  if (model != nullptr) m.model = model;
  m.tokens_input = Given(tokens_input);
  m.tokens_output = Given(tokens_output);
  m.cost_nanousd = Given(cost_nanousd);
  m.latency_us = Given(latency_us);
  return Status::OK();
}

void Put(const Message& m, char* id, int64_t* position, int64_t* cost, int64_t* price_id, int64_t* created_at) {
  if (id != nullptr) {
    const size_t n = std::min(m.id.size(), static_cast<size_t>(CONVSTORE_ID_SIZE - 1));
    std::memcpy(id, m.id.data(), n);
    id[n] = '\0';
  }
  if (position != nullptr) *position = m.position;
  if (cost != nullptr) *cost = m.cost_nanousd.value_or(CONVSTORE_UNSET);
  if (price_id != nullptr) *price_id = m.price_id.value_or(CONVSTORE_UNSET);
  if (created_at != nullptr) *created_at = m.created_at;
}

}  // namespace

int convstore_append_message(convstore_t* db, const char* conversation_id, const char* role, const char* content,
                             int64_t content_len, const char* model, int64_t tokens_input, int64_t tokens_output,
                             int64_t cost_nanousd, int64_t latency_us, char* out_id, int64_t* out_position,
                             int64_t* out_cost_nanousd, int64_t* out_price_id, int64_t* out_created_at_us,
                             char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(conversation_id);
    NewMessage m;
    CONVSTORE_RETURN_IF_ERROR(
        Build("", role, content, content_len, model, tokens_input, tokens_output, cost_nanousd, latency_us, m));
    auto added = db->store->AddMessage(conversation_id, m);
    if (!added.ok()) return added.status();
    Put(*added, out_id, out_position, out_cost_nanousd, out_price_id, out_created_at_us);
    return Status::OK();
  });
}

int convstore_append_messages(convstore_t* db, const char* conversation_id, int64_t count, const char* const* roles,
                              const char* const* contents, const int64_t* content_lens, const char* const* models,
                              const int64_t* tokens_input, const int64_t* tokens_output, const int64_t* cost_nanousd,
                              const int64_t* latency_us, char* out_ids, int64_t* out_positions,
                              int64_t* out_cost_nanousd, int64_t* out_price_ids, int64_t* out_created_at_us,
                              char** errmsg) {
  return Guard(nullptr, errmsg, [&]() -> Status {
    CHECK_HANDLE(db);
    CHECK_ARG(conversation_id);
    CHECK_ARG(roles);
    CHECK_ARG(contents);
    if (count < 1) return Status::InvalidArgument(fmt::format("count is {}; it must be at least 1", count));
    if (static_cast<uint64_t>(count) > convstore::limits::kMaxBatchMessages)
      return Status::TooLarge(fmt::format("{} messages in one batch; the limit is {}", count,
                                          convstore::limits::kMaxBatchMessages));
    const auto at = [](const int64_t* values, int64_t i) { return values == nullptr ? CONVSTORE_UNSET : values[i]; };
    std::vector<NewMessage> batch(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i)
      CONVSTORE_RETURN_IF_ERROR(Build(fmt::format("messages[{}].", i), roles[i], contents[i],
                                      content_lens == nullptr ? -1 : content_lens[i],
                                      models == nullptr ? nullptr : models[i], at(tokens_input, i),
                                      at(tokens_output, i), at(cost_nanousd, i), at(latency_us, i), batch[i]));
    auto added = db->store->AddMessages(conversation_id, batch);
    if (!added.ok()) return added.status();
    for (size_t i = 0; i < added->size(); ++i)
      Put((*added)[i], out_ids == nullptr ? nullptr : out_ids + i * CONVSTORE_ID_SIZE,
          out_positions == nullptr ? nullptr : out_positions + i,
          out_cost_nanousd == nullptr ? nullptr : out_cost_nanousd + i,
          out_price_ids == nullptr ? nullptr : out_price_ids + i,
          out_created_at_us == nullptr ? nullptr : out_created_at_us + i);
    return Status::OK();
  });
}
