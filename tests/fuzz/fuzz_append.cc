// Fuzz target "append": convstore_append_message and convstore_append_messages (the scalar appends) on the fixture
// conversation. An input is one message or, after a first line "batch", several separated by the byte 0x1e; a
// message is six lines — role, model, tokens_input, tokens_output, cost_nanousd, latency_us (integers as text, an
// empty line for CONVSTORE_UNSET, "nul" for a NULL string) — and then its content (the rest, any bytes, passed with
// its length). Either a clear refusal that wrote nothing (the conversation's message count unchanged), or the
// messages stored: ids and positions reported, and the newest message read back with the content given.
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_call.h"

namespace {

using convstore_fuzz::Fail;

struct Parsed {
  std::string role, model, content;
  bool role_null = false, model_null = false;
  int64_t ints[4] = {CONVSTORE_UNSET, CONVSTORE_UNSET, CONVSTORE_UNSET, CONVSTORE_UNSET};
};

Parsed Parse(std::string_view in) {
  Parsed p;
  std::string lines[6];
  for (int i = 0; i < 6; ++i) {
    const size_t nl = in.find('\n');
    lines[i] = std::string(in.substr(0, nl));
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  }
  p.role_null = lines[0] == "nul";
  p.role = lines[0];
  p.model_null = lines[1] == "nul";
  p.model = lines[1];
  for (int i = 0; i < 4; ++i)
    if (!lines[2 + i].empty()) p.ints[i] = std::strtoll(lines[2 + i].c_str(), nullptr, 10);
  p.content = std::string(in);
  return p;
}

int64_t MessageCount(convstore_fuzz::FuzzStore& s) {
  char* out = nullptr;
  char* err = nullptr;
  if (convstore_get_conversation_info(s.db(), s.conversation_id(), &out, &err) != CONVSTORE_OK)
    Fail("convstore_get_conversation_info", "the fixture conversation", 1, out, err);
  const int64_t n = nlohmann::json::parse(out).at("message_count").get<int64_t>();
  convstore_free(out);
  return n;
}

// The newest message, read back through the JSON path.
nlohmann::json Newest(convstore_fuzz::FuzzStore& s) {
  char* out = nullptr;
  char* err = nullptr;
  if (convstore_get_last_messages(s.db(), s.conversation_id(), 1, &out, &err) != CONVSTORE_OK)
    Fail("convstore_get_last_messages", "reading back", 1, out, err);
  auto last = nlohmann::json::parse(out).at(0);
  convstore_free(out);
  return last;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  FuzzStore& s = FuzzStore::Get();
  s.BeginInput(size);
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const bool batch = input.substr(0, 6) == "batch\n";
  std::vector<Parsed> messages;
  if (batch) {
    input.remove_prefix(6);
    for (;;) {
      const size_t sep = input.find('\x1e');
      messages.push_back(Parse(input.substr(0, sep)));
      if (sep == std::string_view::npos || messages.size() == 64) break;
      input.remove_prefix(sep + 1);
    }
  } else {
    messages.push_back(Parse(input));
  }
  const int64_t before = MessageCount(s);
  const size_t n = messages.size();
  std::vector<const char*> roles(n), contents(n), models(n);
  std::vector<int64_t> lens(n), ints[4];
  for (auto& column : ints) column.resize(n);
  for (size_t i = 0; i < n; ++i) {
    roles[i] = messages[i].role_null ? nullptr : messages[i].role.c_str();
    models[i] = messages[i].model_null ? nullptr : messages[i].model.c_str();
    contents[i] = messages[i].content.data();
    lens[i] = static_cast<int64_t>(messages[i].content.size());
    for (int k = 0; k < 4; ++k) ints[k][i] = messages[i].ints[k];
  }
  std::vector<char> ids(n * CONVSTORE_ID_SIZE, 'x');
  std::vector<int64_t> positions(n, -1);
  char* err = Sentinel();
  const char* call = batch ? "convstore_append_messages" : "convstore_append_message";
  const int rc = batch ? convstore_append_messages(s.db(), s.conversation_id(), static_cast<int64_t>(n), roles.data(),
                                                   contents.data(), lens.data(), models.data(), ints[0].data(),
                                                   ints[1].data(), ints[2].data(), ints[3].data(), ids.data(),
                                                   positions.data(), nullptr, nullptr, nullptr, &err)
                       : convstore_append_message(s.db(), s.conversation_id(), roles[0], contents[0], lens[0],
                                                  models[0], ints[0][0], ints[1][0], ints[2][0], ints[3][0],
                                                  ids.data(), positions.data(), nullptr, nullptr, nullptr, &err);
  CheckCodeAndMessage(call, rc, rc == CONVSTORE_OK, nullptr, err);
  convstore_free(err);
  const int64_t after = MessageCount(s);
  if (rc != CONVSTORE_OK) {
    if (after != before) Fail(call, "a refused append wrote messages", rc, nullptr, nullptr);
    if (positions[0] != -1 || ids[0] != 'x') Fail(call, "out values written on failure", rc, nullptr, nullptr);
    return 0;
  }
  if (after != before + static_cast<int64_t>(n)) Fail(call, "not every message was counted", rc, nullptr, nullptr);
  for (size_t i = 0; i < n; ++i) {
    const std::string id(&ids[i * CONVSTORE_ID_SIZE]);
    if (id.size() != 36) Fail(call, "an id is not 36 characters", rc, nullptr, nullptr);
    if (positions[i] != positions[0] + static_cast<int64_t>(i)) Fail(call, "positions out of order", rc, nullptr, nullptr);
  }
  const nlohmann::json last = Newest(s);
  if (last.value("id", "") != std::string(&ids[(n - 1) * CONVSTORE_ID_SIZE]))
    Fail(call, "the newest message is not the last one appended", rc, nullptr, nullptr);
  if (last.value("content", "") != messages.back().content)
    Fail(call, "the content read back is not the content given", rc, nullptr, nullptr);
  return 0;
}
