// The CPU work of one add_message, counted in instructions rather than timed: run N calls on an in-memory store
// under valgrind's callgrind twice (N and 2N) and divide the difference by N. Instruction counts do not move
// with the load of a shared machine, so two builds compare exactly (docs/benchmarks.md, "The write path's JSON
// work").
//
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null build/bench/convstore_write_path_work cpp-metadata 2000
//
// Modes: cpp (a message without metadata, C++ API), cpp-metadata (with an agent's metadata document in stored
// form, C++ API), c-metadata (convstore_add_message with the request text a binding sends, metadata as Python's
// json.dumps writes it), cpp-nostats and cpp-metadata-nostats (the same with the store's statistics turned off:
// the difference is what counting an operation costs). Uses only the public headers, so it builds against any version of the library.
#include <convstore/convstore.h>
#include <convstore/store.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

const char kContent[] =
    "I found 3 issues: 1) Missing route-map on neighbor 10.0.0.2, 2) no max-prefix limit, 3) MD5 auth off. "
    "Ticket NET-4101. Please keep the answer short and actionable for the on-call.";
const char kStoredFormMetadata[] =
    R"({"attempt":1,"run":{"agent":"netops-triage","step":7},"source":"cli","tags":["bgp","prod"],)"
    R"("tool":"bgp_diff","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"})";
const char kPythonMetadata[] =
    R"({"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "source": "cli", "tool": "bgp_diff", )"
    R"("tags": ["bgp", "prod"], "attempt": 1, "run": {"agent": "netops-triage", "step": 7}})";

int Fail(const std::string& what) {
  std::fprintf(stderr, "write_path_work: %s\n", what.c_str());
  return 1;
}

int RunCpp(int n, bool metadata, bool stats = true) {
  auto store = convstore::ConversationStore::Open(convstore::ConversationStore::kInMemory);
  if (!store.ok()) return Fail(store.status().ToString());
  if (!stats && !(*store)->SetStatsEnabled(false).ok()) return Fail("statistics off");
  std::vector<std::string> convs;
  for (int i = 0; i < 100; ++i) {
    convstore::NewConversation c;
    c.user_key = "user" + std::to_string(i % 10) + "@corp.example";
    auto made = (*store)->CreateConversation(c);
    if (!made.ok()) return Fail(made.status().ToString());
    convs.push_back(made->id);
  }
  convstore::NewMessage m;
  m.role = convstore::Role::kAssistant;
  m.content = kContent;
  m.model = "claude-sonnet-4-5";
  m.tokens_input = 1250;
  m.tokens_output = 890;
  m.cost_nanousd = 15'000'000;
  if (metadata) m.metadata_json = kStoredFormMetadata;
  for (int i = 0; i < n; ++i) {
    auto r = (*store)->AddMessage(convs[static_cast<size_t>(i) % convs.size()], m);
    if (!r.ok()) return Fail(r.status().ToString());
  }
  return 0;
}

int RunC(int n) {
  convstore_t* db = nullptr;
  char* err = nullptr;
  if (convstore_open(":memory:", nullptr, &db, &err) != CONVSTORE_OK) return Fail(err ? err : "open");
  std::vector<std::string> convs;
  for (int i = 0; i < 100; ++i) {
    char* out = nullptr;
    std::string req = R"({"user":"user)" + std::to_string(i % 10) + R"(@corp.example"})";
    if (convstore_create_conversation(db, req.c_str(), &out, &err) != CONVSTORE_OK) return Fail(err ? err : "create");
    const char* id = std::strstr(out, "\"id\":\"");
    convs.emplace_back(id + 6, 36);
    convstore_free(out);
  }
  std::string request = std::string(R"({"role":"assistant","content":")") + kContent +
                        R"(","model":"claude-sonnet-4-5","tokens_input":1250,"tokens_output":890,)"
                        R"("cost_nanousd":15000000,"metadata":)" + kPythonMetadata + "}";
  for (int i = 0; i < n; ++i) {
    char* out = nullptr;
    if (convstore_add_message(db, convs[static_cast<size_t>(i) % convs.size()].c_str(), request.c_str(), &out,
                              &err) != CONVSTORE_OK)
      return Fail(err ? err : "add_message");
    convstore_free(out);  // a binding reads the stored message back, as Python's Store.add_message does
  }
  convstore_close(db);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3)
    return Fail("usage: convstore_write_path_work cpp|cpp-metadata|c-metadata|cpp-nostats|cpp-metadata-nostats N");
  int n = std::atoi(argv[2]);
  if (std::strcmp(argv[1], "cpp") == 0) return RunCpp(n, false);
  if (std::strcmp(argv[1], "cpp-metadata") == 0) return RunCpp(n, true);
  if (std::strcmp(argv[1], "c-metadata") == 0) return RunC(n);
  if (std::strcmp(argv[1], "cpp-nostats") == 0) return RunCpp(n, false, false);
  if (std::strcmp(argv[1], "cpp-metadata-nostats") == 0) return RunCpp(n, true, false);
  return Fail(std::string("unknown mode ") + argv[1]);
}
