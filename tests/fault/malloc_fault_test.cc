// Allocation failures inside SQLite. main() installs, before SQLite initialises, an allocator (SQLITE_CONFIG_MALLOC)
// that wraps the default one (SQLITE_CONFIG_GETMALLOC) and can fail the Nth allocation (xMalloc or xRealloc) from
// the moment it is armed — once, or from the Nth on ("sticky": memory stays exhausted). Lookaside is turned off so
// every small allocation of SQLite goes through it.
//
// A small workload (open, create a conversation, add a message, add a batch, read the conversation, list, add a
// tool call, read the context window) is swept over N, on an in-memory store and on a file store (one reader
// connection, so every read uses it): every allocation after the store is open, and every 6th/12th of the thousands
// Open makes (SQLite parsing the schema, the same few paths over and over). Each run proves:
//   - every call returns OK or a clear error Status (kInternal for out of memory; never a crash, never a wrong
//     answer: a successful read returns exactly what was acknowledged);
//   - once: retrying a failed call succeeds; after disarming, the same store handle (reopened only if its open
//     failed) takes a new write and every read returns it (no state left behind by the failure, no old snapshot);
//   - sticky: the store is closed while memory is still exhausted;
//   - then (files) the file reopens, integrity_check is "ok", counters equal a recount, no batch is partial, the
//     acknowledged messages are there, and a new write and read succeed;
//   - nothing leaks: SQLite's own count of outstanding memory returns to its starting value (and the whole suite is
//     clean under AddressSanitizer/LeakSanitizer).
// A focused test fails each allocation of a reader's first multi-statement read in turn; another each allocation of
// a retention run.
// C++ allocations (operator new) are not covered by SQLITE_CONFIG_MALLOC; the library turns std::bad_alloc into
// kInternal anyway.
//
// MALLOC_FAULT_N=<n> in the environment runs only that N of each sweep (to reproduce a failure).
// Prints one line per sweep and a summary: "malloc fault sweep: F allocations failed in R runs, E errors returned".
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "fault_checks.h"
#include "fault_vfs.h"
#include "test_util.h"

namespace {

// ---- the allocator shim ---------------------------------------------------------------------------------------

sqlite3_mem_methods g_default;  // SQLite's own allocator, wrapped
std::atomic<uint64_t> g_nth{0};        // 0: counting only
std::atomic<bool> g_armed{false};
std::atomic<bool> g_sticky{false};
std::atomic<uint64_t> g_since_arm{0};
std::atomic<uint64_t> g_failed{0};

bool FailThisOne() {
  if (!g_armed.load(std::memory_order_acquire)) return false;
  uint64_t n = g_since_arm.fetch_add(1, std::memory_order_acq_rel) + 1;
  uint64_t nth = g_nth.load(std::memory_order_acquire);
  if (nth == 0) return false;
  if (n == nth || (n > nth && g_sticky.load(std::memory_order_acquire))) {
    g_failed.fetch_add(1, std::memory_order_acq_rel);
    return true;
  }
  return false;
}

void* ShimMalloc(int n) { return FailThisOne() ? nullptr : g_default.xMalloc(n); }
void ShimFree(void* p) { g_default.xFree(p); }
void* ShimRealloc(void* p, int n) { return FailThisOne() ? nullptr : g_default.xRealloc(p, n); }
int ShimSize(void* p) { return g_default.xSize(p); }
int ShimRoundup(int n) { return g_default.xRoundup(n); }
int ShimInit(void* app) { return g_default.xInit(app); }
void ShimShutdown(void* app) { g_default.xShutdown(app); }

// Must run before anything initialises SQLite. Returns an error message, or "" on success.
std::string InstallAllocator() {
  if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &g_default) != SQLITE_OK)
    return "SQLITE_CONFIG_GETMALLOC failed (SQLite already initialised?)";
  sqlite3_mem_methods shim = g_default;  // keeps pAppData
  shim.xMalloc = ShimMalloc;
  shim.xFree = ShimFree;
  shim.xRealloc = ShimRealloc;
  shim.xSize = ShimSize;
  shim.xRoundup = ShimRoundup;
  shim.xInit = ShimInit;
  shim.xShutdown = ShimShutdown;
  if (sqlite3_config(SQLITE_CONFIG_MALLOC, &shim) != SQLITE_OK) return "SQLITE_CONFIG_MALLOC failed";
  // No lookaside: every small allocation goes through xMalloc, where it can fail.
  if (sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 0, 0) != SQLITE_OK) return "SQLITE_CONFIG_LOOKASIDE failed";
  if (sqlite3_initialize() != SQLITE_OK) return "sqlite3_initialize failed";
  return "";
}

void Arm(uint64_t nth, bool sticky) {
  g_armed.store(false, std::memory_order_release);
  g_nth.store(nth, std::memory_order_release);
  g_sticky.store(sticky, std::memory_order_release);
  g_since_arm.store(0, std::memory_order_release);
  g_armed.store(true, std::memory_order_release);
}
void Disarm() { g_armed.store(false, std::memory_order_release); }

uint64_t g_total_failed = 0, g_total_runs = 0, g_total_errors = 0;

// ---- the workload ---------------------------------------------------------------------------------------------

using namespace convstore;

constexpr const char* kUser = "bob@company.com";

struct Run {
  std::vector<std::string> problems;
  std::vector<std::string> error_log;  // every error returned, for the report of a failing run
  uint64_t errors = 0;
  uint64_t allocations_in_open = 0;     // allocations counted when the store's open returned
  std::string conversation;             // acknowledged
  std::vector<Message> acked;           // acknowledged messages, in order
  std::set<std::string> failed_batches; // tags of batches whose call failed
  std::string unsure_pop;               // a message whose pop failed: it may still be there
  std::set<std::string> with_vectors;   // acknowledged messages whose vectors were stored (space "oom")
};

class Workload {
 public:
  Workload(std::string path, bool sticky) : path_(std::move(path)), sticky_(sticky) {}

  static Options StoreOptions() {
    Options o;
    o.log_level = LogLevel::kOff;
    o.reader_pool_size = 1;
    o.slow_operation_ms = 0;
    o.background_indexing = false;  // its own thread would take numbered faults at moments the sweep does not choose
    return o;
  }

  // The workload. With close_at_end the store is closed inside it (under the fault); otherwise it stays open for
  // AfterDisarm.
  void Go(bool close_at_end) {
    {
      auto s = Retry("open", [&] { return ConversationStore::Open(path_, StoreOptions()); });
      if (!s.ok()) return;
      store_ = std::move(*s);
      r.allocations_in_open = g_since_arm.load();
    }
    NewConversation nc;
    nc.user_key = kUser;
    nc.title = "oom";
    auto conv = Retry("create", [&] { return store_->CreateConversation(nc); });
    if (conv.ok()) r.conversation = conv->id;
    if (!r.conversation.empty()) {
      NewMessage m;
      m.content = "hello";
      m.tokens_input = 3;
      m.cost_nanousd = 7;
      m.request_id = "oom-1";
      auto added = Retry("add_message", [&] { return store_->AddMessage(r.conversation, m); });
      if (added.ok()) r.acked.push_back(*added);

      std::vector<NewMessage> batch(3);
      for (size_t k = 0; k < batch.size(); ++k) {
        batch[k].role = k % 2 == 0 ? Role::kAssistant : Role::kUser;
        batch[k].content = "batch message " + std::to_string(k);
        batch[k].tokens_output = static_cast<int64_t>(k);
        batch[k].metadata_json = R"({"batch":"oom-b1"})";
        batch[k].request_id = "oom-b1-" + std::to_string(k);
      }
      auto added_batch = Retry("add_messages", [&] { return store_->AddMessages(r.conversation, batch); });
      if (added_batch.ok()) {
        for (auto& msg : *added_batch) r.acked.push_back(msg);
      } else {
        r.failed_batches.insert("oom-b1");
      }

      auto got = Retry("get_conversation", [&] { return store_->GetConversation(r.conversation); });
      if (got.ok()) CheckMessages("get_conversation", got->messages, got->conversation.message_count);

      ListConversationsOptions lo;
      lo.user_key = kUser;
      auto page = Retry("list_conversations", [&] { return store_->ListConversations(lo); });
      if (page.ok() && (page->items.size() != 1 || page->items[0].id != r.conversation))
        r.problems.push_back("list_conversations returned " + std::to_string(page->items.size()) + " items");

      if (!r.acked.empty()) {
        NewToolCall t;
        t.tool_name = "ping";
        t.input_json = R"({"n":1})";
        auto tool = store_->AddToolCall(r.acked.front().id, t);
        Note("add_tool_call", tool, false);
      }
      auto context = Retry("get_context", [&] { return store_->GetContext(r.conversation, 1'000'000); });
      if (context.ok()) CheckMessages("get_context", *context, -1);
      // The full-text index: a search indexes what waits first, then finds exactly the acknowledged matches.
      auto found = Retry("search_text", [&] { return store_->SearchText(BatchWords()); });
      if (found.ok()) CheckSearch("search_text", *found);
      // Vectors: a space, the acknowledged messages' vectors, a search over its in-memory copy.
      auto space = Retry("create_embedding_space", [&] {
        return store_->CreateEmbeddingSpace({.name = "oom", .dimension = 4, .metric = VectorMetric::kL2});
      });
      if (space.ok() && !r.acked.empty()) {
        std::vector<EmbeddingInput> vectors;
        for (size_t k = 0; k < r.acked.size(); ++k)
          vectors.push_back({r.acked[k].id, {1, 2, 3, static_cast<float>(k)}});
        if (Retry("put_embeddings", [&] { return store_->PutEmbeddings("oom", vectors); }).ok())
          for (const Message& acked : r.acked) r.with_vectors.insert(acked.id);
        auto near = Retry("search_vectors", [&] { return store_->SearchVectors(AllVectors()); });
        if (near.ok()) CheckVectors("search_vectors", *near);
      }

      // A message added, edited and popped: none of the acknowledged ones above is touched. Pop only when the
      // add was acknowledged (so the newest message is this one); neither is retried.
      NewMessage extra;
      extra.content = "to pop";
      extra.cost_nanousd = 11;
      auto added_extra = store_->AddMessage(r.conversation, extra);
      if (Note("add_message (to pop)", added_extra, false)) {
        MessageEdit edit;
        edit.content = "edited, to pop";
        edit.metadata_json = R"({"edited":true})";
        Note("edit_message", store_->EditMessage(added_extra->id, edit), false);
        auto popped = store_->PopMessage(r.conversation);
        if (!Note("pop_message", popped, false)) r.unsure_pop = added_extra->id;
        else if (!popped->has_value() || (*popped)->id != added_extra->id)
          r.problems.push_back("pop_message returned another message than the one just added");
      }
      Note("purge_search_index", store_->PurgeSearchIndex(), false);  // the edit's and pop's removed tokens
    }
    if (close_at_end) {
      Status closed = store_->Close();
      Note("close", closed, false);
      store_.reset();
    }
  }

  // With the allocator disarmed: the same store handle (reopened only if its open failed) takes a write, and every
  // read returns it — no call is stuck in a state an earlier failure left behind, no read sees an old snapshot.
  // Closes the store.
  void AfterDisarm() {
    if (store_ == nullptr) {
      auto s = ConversationStore::Open(path_, StoreOptions());
      if (!s.ok()) {
        r.problems.push_back("open after disarming: " + s.status().ToString());
        return;
      }
      store_ = std::move(*s);
    }
    auto must = [&](const std::string& step, const auto& res) {
      if (!StatusOf(res).ok()) r.problems.push_back("after disarming, " + step + ": " + StatusOf(res).ToString());
      return StatusOf(res).ok();
    };
    if (r.conversation.empty()) {
      NewConversation nc;
      nc.user_key = kUser;
      nc.title = "after";
      auto conv = store_->CreateConversation(nc);
      if (!must("create", conv)) return;
      r.conversation = conv->id;
    }
    if (!r.unsure_pop.empty()) {  // finish the pop whose outcome the failure left unknown
      auto last = store_->GetLastMessages(r.conversation, 1);
      if (must("get_last_messages", last) && !last->empty() && (*last)[0].id == r.unsure_pop)
        must("pop_message", store_->PopMessage(r.conversation));
    }
    NewMessage m;
    m.content = "after the failure";
    m.tokens_input = 5;
    m.request_id = "after-1";
    auto added = store_->AddMessage(r.conversation, m);
    if (!must("add_message", added)) return;
    r.acked.push_back(*added);
    const auto expected = static_cast<int64_t>(r.acked.size());

    auto got = store_->GetConversation(r.conversation);
    if (must("get_conversation", got)) CheckMessages("after disarming, get_conversation", got->messages,
                                                      got->conversation.message_count);
    auto info = store_->GetConversationInfo(r.conversation);
    if (must("get_conversation_info", info) && info->message_count != expected)
      r.problems.push_back("after disarming, get_conversation_info: message_count " +
                           std::to_string(info->message_count) + ", expected " + std::to_string(expected) +
                           " (an old snapshot?)");
    ListConversationsOptions lo;
    lo.user_key = kUser;
    lo.limit = 100;
    auto page = store_->ListConversations(lo);
    if (must("list_conversations", page)) {
      bool found = false;
      for (const auto& c : page->items) {
        if (c.id != r.conversation) continue;
        found = true;
        if (c.message_count != expected)
          r.problems.push_back("after disarming, list_conversations: message_count " +
                               std::to_string(c.message_count) + ", expected " + std::to_string(expected));
      }
      if (!found) r.problems.push_back("after disarming, list_conversations: the conversation is missing");
    }
    auto context = store_->GetContext(r.conversation, 1'000'000);
    if (must("get_context", context)) CheckMessages("after disarming, get_context", *context, -1);
    auto tools = store_->ListToolCalls(added->id);
    if (must("list_tool_calls", tools) && !tools->empty())
      r.problems.push_back("after disarming, list_tool_calls: tool calls on a new message");
    auto found = store_->SearchText(BatchWords());
    if (must("search_text", found)) CheckSearch("after disarming, search_text", *found);
    if (!r.with_vectors.empty()) {
      auto near = store_->SearchVectors(AllVectors());
      if (must("search_vectors", near)) CheckVectors("after disarming, search_vectors", *near);
    }
    auto verified = store_->VerifySearchIndex();
    if (must("verify_search_index", verified) && !verified->ok)
      r.problems.push_back("after disarming, verify_search_index: " +
                           (verified->problems.empty() ? std::string("not ok") : verified->problems.front()));
    must("close", store_->Close());
    store_.reset();
  }

  Run r;

 private:
  static const Status& StatusOf(const Status& s) { return s; }
  template <typename T>
  static const Status& StatusOf(const Result<T>& res) { return res.status(); }

  template <typename R>
  bool Note(const std::string& step, const R& res, bool is_retry) {
    const Status& s = StatusOf(res);
    if (s.ok()) return true;
    ++r.errors;
    r.error_log.push_back(step + ": " + s.ToString());
    // Out of memory is kInternal; a failure while SQLite handles it may surface as an I/O error.
    if (s.code() != Code::kInternal && s.code() != Code::kIoError && s.code() != Code::kBusy)
      r.problems.push_back(step + ": unexpected error code: " + s.ToString());
    if (s.message().empty()) r.problems.push_back(step + ": error without a message");
    if (is_retry && !sticky_) r.problems.push_back(step + ": retry after a one-shot failure failed: " + s.ToString());
    return false;
  }

  template <typename F>
  auto Retry(const std::string& step, F&& f) -> decltype(f()) {
    auto res = f();
    if (Note(step, res, false)) return res;
    auto again = f();
    Note(step + " (retry)", again, true);
    return again;
  }

  // Messages with "batch message" in their content (the batch's, when it was acknowledged).
  static TextSearchQuery BatchWords() {
    TextSearchQuery q;
    q.text = "batch message";
    q.limit = 100;
    return q;
  }

  static VectorSearchQuery AllVectors() { return {.space = "oom", .vector = {1, 2, 3, 0}, .k = 100}; }

  // A successful vector search finds exactly the messages whose vectors were stored.
  void CheckVectors(const std::string& step, const VectorSearchResult& near) {
    std::set<std::string> got;
    for (const VectorHit& h : near.hits) got.insert(h.message_id);
    if (got != r.with_vectors)
      r.problems.push_back(step + ": " + std::to_string(got.size()) + " hits, " +
                           std::to_string(r.with_vectors.size()) + " vectors stored");
  }

  // A successful search finds exactly the acknowledged messages whose content has the words.
  void CheckSearch(const std::string& step, const TextSearchResult& found) {
    std::set<std::string> want, got;
    for (const auto& m : r.acked)
      if (m.content.find("batch message") != std::string::npos) want.insert(m.id);
    for (const auto& h : found.hits) got.insert(h.message_id);
    if (want != got || found.unindexed != 0)
      r.problems.push_back(step + ": " + std::to_string(got.size()) + " hits (" + std::to_string(found.unindexed) +
                           " rows unindexed), " + std::to_string(want.size()) + " acknowledged matches");
  }

  // A successful read shows exactly the acknowledged messages (in this single-threaded workload a failed write
  // is rolled back, so nothing else can be there), with their contents, in order.
  void CheckMessages(const std::string& step, const std::vector<Message>& got, int64_t message_count) {
    if (got.size() != r.acked.size()) {
      r.problems.push_back(step + ": " + std::to_string(got.size()) + " messages, " +
                           std::to_string(r.acked.size()) + " acknowledged");
      return;
    }
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i].id != r.acked[i].id || got[i].content != r.acked[i].content ||
          got[i].request_id != r.acked[i].request_id || got[i].position < static_cast<int64_t>(i) ||
          (i > 0 && got[i].position <= got[i - 1].position))  // a popped message leaves a gap
        r.problems.push_back(step + ": message " + std::to_string(i) + " differs from the acknowledged one");
    }
    if (message_count >= 0 && message_count != static_cast<int64_t>(got.size()))
      r.problems.push_back(step + ": message_count " + std::to_string(message_count) + " for " +
                           std::to_string(got.size()) + " messages");
  }

  std::string path_;
  bool sticky_;
  std::unique_ptr<ConversationStore> store_;
};

// After the allocator is disarmed: the file (or a fresh in-memory store) works, and what was acknowledged is there.
std::vector<std::string> Verify(const std::string& path, bool in_memory, const Run& run) {
  std::vector<std::string> problems;
  auto opened = ConversationStore::Open(path, Workload::StoreOptions());
  if (!opened.ok()) return {"reopen failed: " + opened.status().ToString()};
  auto store = std::move(*opened);
  if (!in_memory) {
    fault_check::RawDb raw(path);
    if (!raw.ok()) {
      problems.push_back("raw open: " + raw.error());
    } else {
      if (std::string ic = fault_check::IntegrityCheck(raw); ic != "ok") problems.push_back("integrity_check: " + ic);
      for (auto& p : fault_check::CheckInvariants(raw)) problems.push_back(p);
      try {
        for (const auto& tag : run.failed_batches) {
          int64_t n = raw.Int("SELECT count(*) FROM messages WHERE json_extract(metadata, '$.batch') = ?1", {tag});
          if (n != 0 && n != 3) problems.push_back("partial batch " + tag + ": " + std::to_string(n) + " of 3");
        }
      } catch (const std::exception& e) {
        problems.push_back(std::string("query failed: ") + e.what());
      }
    }
    if (!run.conversation.empty()) {
      auto got = store->GetConversation(run.conversation);
      if (!got.ok()) {
        problems.push_back("acknowledged conversation unreadable: " + got.status().ToString());
      } else {
        std::set<std::string> ids;
        for (const auto& m : got->messages) ids.insert(m.id);
        for (const auto& m : run.acked)
          if (!ids.count(m.id)) problems.push_back("acknowledged message " + m.request_id + " is missing");
        if (got->conversation.message_count != static_cast<int64_t>(got->messages.size()))
          problems.push_back("message_count disagrees with the messages after reopen");
      }
    }
  }
  NewConversation nc;
  nc.user_key = kUser;
  nc.title = "after";
  auto conv = store->CreateConversation(nc);
  if (!conv.ok()) {
    problems.push_back("create after disarming: " + conv.status().ToString());
  } else {
    NewMessage m;
    m.content = "works again";
    auto added = store->AddMessage(conv->id, m);
    if (!added.ok()) problems.push_back("add after disarming: " + added.status().ToString());
    auto got = store->GetConversation(conv->id);
    if (!got.ok() || got->messages.size() != 1 || got->messages[0].content != "works again")
      problems.push_back("read after disarming did not return the new message");
  }
  (void)store->Close();
  return problems;
}

struct SweepResult {
  uint64_t allocations = 0, in_open = 0, runs = 0, failed = 0, errors = 0;
};

// N runs over every allocation after the store is open, and over every `open_stride`-th allocation of Open itself
// (thousands, mostly SQLite parsing the schema: the same few code paths over and over).
SweepResult Sweep(bool in_memory, bool sticky, uint64_t open_stride) {
  SweepResult res;
  // Dry run, counting.
  {
    convstore::testing::TempDb db;
    const std::string path = in_memory ? ConversationStore::kInMemory : db.path();
    Workload w(path, sticky);
    Arm(0, false);
    w.Go(sticky);
    res.allocations = g_since_arm.load();
    res.in_open = w.r.allocations_in_open;
    Disarm();
    if (!sticky) w.AfterDisarm();
    EXPECT_EQ(w.r.errors, 0u) << "the workload fails without faults";
    EXPECT_TRUE(w.r.problems.empty()) << w.r.problems.front();
    if (::testing::Test::HasFailure()) return res;
  }
  EXPECT_GT(res.allocations, 0u);
  const uint64_t failed_before = g_failed.load();
  int failing_runs = 0;
  std::vector<uint64_t> ns;
  if (const char* only = std::getenv("MALLOC_FAULT_N"); only != nullptr) {  // reproduce one run
    ns.push_back(std::strtoull(only, nullptr, 10));
  } else {
    // Open is sampled: at most ~400 runs whatever it allocates (the schema, migrations and price catalog grow);
    // CONVSTORE_MALLOC_FAULT_OPEN_RUNS=k takes ~k (the sanitizer stage's shorter sweep).
    const auto open_runs = static_cast<uint64_t>(convstore::testing::EnvCount("CONVSTORE_MALLOC_FAULT_OPEN_RUNS", 400));
    open_stride = std::max<uint64_t>(open_stride, res.in_open / open_runs);
    // After open, every allocation; CONVSTORE_MALLOC_FAULT_STRIDE=k takes every k-th, starting from the
    // CONVSTORE_MALLOC_FAULT_START-th after open (default 1), so stages with different starts cover different ones.
    const auto stride = static_cast<uint64_t>(convstore::testing::EnvCount("CONVSTORE_MALLOC_FAULT_STRIDE", 1));
    const auto start = static_cast<uint64_t>(convstore::testing::EnvCount("CONVSTORE_MALLOC_FAULT_START", 1));
    for (uint64_t n = 1; n <= res.in_open; n += open_stride) ns.push_back(n);
    for (uint64_t n = res.in_open + start; n <= res.allocations; n += stride) ns.push_back(n);
  }
  for (uint64_t n : ns) {
    convstore::testing::TempDb db;
    const std::string path = in_memory ? ConversationStore::kInMemory : db.path();
    Workload w(path, sticky);
    Arm(n, sticky);
    w.Go(/*close_at_end=*/sticky);  // sticky: memory stays exhausted through Close
    Disarm();
    if (!sticky) w.AfterDisarm();
    ++res.runs;
    res.errors += w.r.errors;
    std::vector<std::string> problems = w.r.problems;
    // An in-memory store is gone once closed: AfterDisarm checked the same handle. After a sticky run, a fresh one
    // must still open and work.
    if (!in_memory || sticky)
      for (auto& p : Verify(path, in_memory, w.r)) problems.push_back(p);
    if (!problems.empty() && ++failing_runs <= 10) {
      std::string all;
      for (const auto& p : problems) all += "\n  " + p;
      all += "\n  errors the run returned:";
      for (const auto& e : w.r.error_log) all += "\n    " + e;
      ADD_FAILURE() << "[malloc " << (in_memory ? "memory" : "file") << (sticky ? " sticky" : " once") << " N=" << n
                    << "] " << problems.size() << " problem(s):" << all;
    }
  }
  res.failed = g_failed.load() - failed_before;
  EXPECT_EQ(failing_runs, 0) << "runs with problems (first 10 detailed above)";
  return res;
}

class MallocFault : public ::testing::TestWithParam<std::tuple<bool, bool>> {};  // (in_memory, sticky)

TEST_P(MallocFault, EveryAllocationFailureIsReportedAndRecoverable) {
  const bool in_memory = std::get<0>(GetParam());
  const bool sticky = std::get<1>(GetParam());
  auto started = std::chrono::steady_clock::now();
  // Memory SQLite holds with no store open: it must come back to this after the sweep.
  const sqlite3_int64 baseline = sqlite3_memory_used();
  SweepResult res = Sweep(in_memory, sticky, in_memory ? 6 : 12);
  EXPECT_EQ(sqlite3_memory_used(), baseline) << "SQLite memory still outstanding after every store closed: a leak";
  EXPECT_GE(res.failed, res.runs) << "some armed failures never fired";
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("malloc sweep %s/%s: N=1..%llu (%llu in open), %llu runs, %llu allocations failed, %llu errors "
              "returned (%.1f s)\n",
              in_memory ? "memory" : "file", sticky ? "sticky" : "once",
              static_cast<unsigned long long>(res.allocations), static_cast<unsigned long long>(res.in_open),
              static_cast<unsigned long long>(res.runs),
              static_cast<unsigned long long>(res.failed), static_cast<unsigned long long>(res.errors), secs);
  g_total_failed += res.failed;
  g_total_runs += res.runs;
  g_total_errors += res.errors;
}

INSTANTIATE_TEST_SUITE_P(Stores, MallocFault,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const ::testing::TestParamInfo<std::tuple<bool, bool>>& p) {
                           return std::string(std::get<0>(p.param) ? "memory" : "file") +
                                  (std::get<1>(p.param) ? "_sticky" : "_once");
                         });

// Focused: every allocation of the first multi-statement read on a reader connection (GetConversation: BEGIN, two
// queries, COMMIT — each prepared for the first time) fails in turn. Whatever that read returned, the reader must not
// be left inside its read transaction: later reads must succeed and see later writes.
TEST(MallocFaultFocused, AFailedFirstReadLeavesNoReadTransactionOpen) {
  Options o = Workload::StoreOptions();  // one reader, so every read uses the connection under test
  uint64_t allocations = 0;
  for (uint64_t n = 0; n == 0 || n <= allocations; ++n) {  // n == 0: the dry run, counting
    SCOPED_TRACE("allocation " + std::to_string(n) + " of the first get_conversation");
    convstore::testing::TempDb db;
    auto store = convstore::testing::OpenOrDie(db.path(), o);
    NewConversation nc;
    nc.user_key = kUser;
    auto conv = store->CreateConversation(nc);
    ASSERT_OK(conv);
    NewMessage m;
    m.content = "one";
    ASSERT_OK(store->AddMessage(conv->id, m));
    Arm(n, false);
    auto first = store->GetConversation(conv->id);
    if (n == 0) allocations = g_since_arm.load();
    Disarm();
    if (!first.ok()) {
      EXPECT_EQ(first.status().code(), Code::kInternal) << first.status().ToString();
    }
    m.content = "two";
    ASSERT_OK(store->AddMessage(conv->id, m));
    auto info = store->GetConversationInfo(conv->id);
    ASSERT_OK(info);
    EXPECT_EQ(info->message_count, 2) << "get_conversation_info read an old snapshot";
    auto context = store->GetContext(conv->id, 1000);
    ASSERT_OK(context);
    EXPECT_EQ(context->size(), 2u) << "get_context read an old snapshot";
    auto again = store->GetConversation(conv->id);
    ASSERT_OK(again);
    EXPECT_EQ(again->messages.size(), 2u);
    ListConversationsOptions lo;
    lo.user_key = kUser;
    ASSERT_OK(store->ListConversations(lo));
    ASSERT_OK(store->Close());
    if (::testing::Test::HasFailure()) break;  // one detailed failure is enough
  }
  EXPECT_GT(allocations, 0u);
}

// The focused sweeps fail every allocation, or every CONVSTORE_MALLOC_FAULT_STRIDE-th.
uint64_t FocusedStride() { return static_cast<uint64_t>(convstore::testing::EnvCount("CONVSTORE_MALLOC_FAULT_STRIDE", 1)); }

// After a focused run, failed or not: the rollups verify and the spend over `everything` is `spent`.
void ExpectSpendKept(ConversationStore& store, const CostFilter& everything, NanoUsd spent) {
  auto rollups = store.VerifyRollups();
  ASSERT_OK(rollups);
  EXPECT_EQ(rollups->differences, 0);
  EXPECT_EQ(store.GetCostSummary(everything)->total_cost_nanousd, spent);
}

// ... and, once the work is done, the metadata index and the audit chain verify.
void ExpectIndexAndAuditVerify(ConversationStore& store) {
  auto index = store.VerifyMetadataIndex();
  ASSERT_OK(index);
  EXPECT_TRUE(index->consistent());
  auto audit = store.VerifyAudit();
  ASSERT_OK(audit);
  EXPECT_TRUE(audit->ok) << audit->problem;
}

// Focused: a retention run (idle conversations, one cut in pieces, with metadata, a tool call and a tombstone; old
// API usage) with its Nth allocation failing, for every N (every CONVSTORE_MALLOC_FAULT_STRIDE-th). The run returns
// OK or kInternal; either way the rollups verify with the spend unchanged, and a healthy run then finishes the work
// with the metadata index and the audit chain verifying.
TEST(MallocFaultFocused, ARetentionRunFailsCleanlyOrCompletes) {
  const uint64_t stride = FocusedStride();
  constexpr Micros kDay = 86'400'000'000;
  const Micros now = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
  const Micros old = now - 200 * kDay;
  const CostFilter everything{.from = old - kDay, .to = now + kDay};
  RetentionOptions options;
  options.batch_rows = 10;
  options.policy = RetentionPolicy{.conversations_idle_us = 90 * kDay, .api_usage_us = 90 * kDay};
  uint64_t allocations = 0, runs = 0;
  for (uint64_t n = 0; n == 0 || n <= allocations; n += (n == 0 ? 1 : stride)) {
    SCOPED_TRACE("allocation " + std::to_string(n) + " of a retention run");
    std::atomic<Micros> clock{old};
    convstore::testing::ClockEnv env([&] { return clock.load(); });
    Options o = Workload::StoreOptions();
    o.env = &env;
    auto opened = ConversationStore::Open(ConversationStore::kInMemory, o);
    ASSERT_OK(opened);
    auto& store = *opened;
    for (int c = 0; c < 3; ++c) {
      auto conv = store->CreateConversation({.user_key = kUser, .metadata_json = R"({"k":"v"})"});
      ASSERT_OK(conv);
      std::vector<NewMessage> batch(c == 0 ? 25 : 3);
      for (auto& m : batch) {
        m.content = "old";
        m.cost_nanousd = 11;
        m.metadata_json = R"({"kind":"probe"})";
      }
      auto added = store->AddMessages(conv->id, batch);
      ASSERT_OK(added);
      ASSERT_OK(store->AddToolCall((*added)[0].id, {.tool_name = "t"}));
      ASSERT_OK(store->DeleteMessage((*added)[1].id));
      ASSERT_OK(store->RecordApiUsage({.user_key = kUser, .conversation_id = conv->id, .model = "m",
                                       .cost_nanousd = 5}));
    }
    clock = now;
    auto live = store->CreateConversation({.user_key = kUser});
    ASSERT_OK(live);
    const NanoUsd spent = store->GetCostSummary(everything)->total_cost_nanousd;
    Arm(n, false);
    auto r = store->ApplyRetention(options);
    if (n == 0) allocations = g_since_arm.load();
    Disarm();
    ++runs;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInternal) << r.status().ToString();
    }
    ExpectSpendKept(*store, everything, spent);
    auto healthy = store->ApplyRetention(options);
    ASSERT_OK(healthy);
    auto info = store->GetConversationInfo(live->id);
    ASSERT_OK(info);
    ExpectIndexAndAuditVerify(*store);
    ASSERT_OK(store->Close());
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(allocations, 0u);
  std::printf("retention malloc sweep: %llu allocations, %llu runs\n", static_cast<unsigned long long>(allocations),
              static_cast<unsigned long long>(runs));
}

// Focused: a health check of a file store (a journal consumer behind, a budget near its limit) with its Nth
// allocation failing, for every N (every CONVSTORE_MALLOC_FAULT_STRIDE-th). It returns the whole report or kInternal,
// never a check turned to fail by the missing memory; the next check reports the same as before.
TEST(MallocFaultFocused, AHealthCheckReportsWholeOrFails) {
  const uint64_t stride = FocusedStride();
  convstore::testing::TempDb db;
  auto opened = ConversationStore::Open(db.path(), Workload::StoreOptions());
  ASSERT_OK(opened);
  auto& store = *opened;
  ASSERT_OK(store->SetBudget({.name = "day", .scope = "global", .period = "day", .hard_limit_nanousd = 100}));
  auto conv = store->CreateConversation({.user_key = kUser});
  ASSERT_OK(conv);
  ASSERT_OK(store->AddMessage(conv->id, {.content = "x", .cost_nanousd = 90}));
  ASSERT_OK(store->SetJournalConsumer("reader", 1));
  auto expected = store->CheckHealth({});
  ASSERT_OK(expected);
  auto levels = [](const HealthReport& r) {
    std::string s;
    for (const HealthCheck& c : r.checks) s += c.name + "=" + HealthLevelName(c.level) + " ";
    return s;
  };
  uint64_t allocations = 0, runs = 0;
  for (uint64_t n = 0; n == 0 || n <= allocations; n += (n == 0 ? 1 : stride)) {
    SCOPED_TRACE("allocation " + std::to_string(n) + " of a health check");
    Arm(n, false);
    auto r = store->CheckHealth({});
    if (n == 0) allocations = g_since_arm.load();
    Disarm();
    ++runs;
    if (r.ok()) EXPECT_EQ(levels(*r), levels(*expected));
    else EXPECT_EQ(r.status().code(), Code::kInternal) << r.status().ToString();
    auto again = store->CheckHealth({});
    ASSERT_OK(again);
    EXPECT_EQ(levels(*again), levels(*expected));
    if (::testing::Test::HasFailure()) break;
  }
  ASSERT_OK(store->Close());
  EXPECT_GT(allocations, 0u);
  std::printf("health malloc sweep: %llu allocations, %llu runs\n", static_cast<unsigned long long>(allocations),
              static_cast<unsigned long long>(runs));
}

TEST(MallocFaultFocused, AnImportFailsCleanlyOrCompletes) {
  const uint64_t stride = FocusedStride();
  const CostFilter everything{.days = 30};
  uint64_t allocations = 0, runs = 0;
  for (uint64_t n = 0; n == 0 || n <= allocations; n += (n == 0 ? 1 : stride)) {
    SCOPED_TRACE("allocation " + std::to_string(n) + " of an import");
    auto opened = ConversationStore::Open(ConversationStore::kInMemory, Workload::StoreOptions());
    ASSERT_OK(opened);
    auto& store = *opened;
    auto conv = store->CreateConversation({.user_key = kUser, .metadata_json = R"({"k":"v"})"});
    ASSERT_OK(conv);
    std::vector<NewMessage> batch(3);
    for (auto& m : batch) {
      m.content = "hello";
      m.cost_nanousd = 11;
      m.metadata_json = R"({"kind":"probe"})";
    }
    auto added = store->AddMessages(conv->id, batch);
    ASSERT_OK(added);
    ASSERT_OK(store->AddToolCall((*added)[0].id, {.tool_name = "t"}));
    ASSERT_OK(store->DeleteMessage((*added)[1].id));
    ASSERT_OK(store->RecordApiUsage({.user_key = kUser, .conversation_id = conv->id, .model = "m", .cost_nanousd = 5}));
    std::string exported;
    ASSERT_OK(store->ExportUser(kUser, {.sink = [&](std::string_view chunk) {
                                          exported.append(chunk);
                                          return Status::OK();
                                        }}));
    ASSERT_OK(store->EraseUser(kUser));
    const NanoUsd spent = store->GetCostSummary(everything)->total_cost_nanousd;
    const UserImportOptions from_string = convstore::testing::ImportFromString(exported);
    Arm(n, false);
    auto r = store->ImportUser(from_string);
    if (n == 0) allocations = g_since_arm.load();
    Disarm();
    ++runs;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInternal) << r.status().ToString();
      EXPECT_CODE(store->GetUser(kUser), Code::kNotFound);  // nothing of it was written
      ASSERT_OK(store->ImportUser(convstore::testing::ImportFromString(exported)));  // a healthy import afterwards
    }
    ExpectSpendKept(*store, everything, spent);
    auto info = store->GetConversationInfo(conv->id);
    ASSERT_OK(info);
    EXPECT_EQ(info->message_count, 2);
    ExpectIndexAndAuditVerify(*store);
    ASSERT_OK(store->Close());
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(allocations, 0u);
  std::printf("import malloc sweep: %llu allocations, %llu runs\n", static_cast<unsigned long long>(allocations),
              static_cast<unsigned long long>(runs));
}

}  // namespace

int main(int argc, char** argv) {
  // First, before GoogleTest or anything else can touch SQLite.
  if (std::string err = InstallAllocator(); !err.empty()) {
    std::fprintf(stderr, "malloc_fault_test: %s\n", err.c_str());
    return 2;
  }
  // The fault VFS only to skip real fsyncs (no power loss is simulated here); it injects nothing in this test.
  if (!fault_vfs::Install()) {
    std::fprintf(stderr, "malloc_fault_test: could not register the VFS shim\n");
    return 2;
  }
  fault_vfs::SetRealSync(false);
  ::testing::InitGoogleTest(&argc, argv);
  // A first store opened and closed outside the sweeps: SQLite's one-time global allocations happen here, so the
  // sweeps' before/after memory comparison sees only what a store leaves behind.
  {
    auto warm = ConversationStore::Open(ConversationStore::kInMemory, Workload::StoreOptions());
    if (!warm.ok()) {
      std::fprintf(stderr, "malloc_fault_test: warm-up open failed: %s\n", warm.status().ToString().c_str());
      return 2;
    }
    convstore::testing::TempDb db;
    auto warm_file = ConversationStore::Open(db.path(), Workload::StoreOptions());
    if (!warm_file.ok()) {
      std::fprintf(stderr, "malloc_fault_test: warm-up open failed: %s\n", warm_file.status().ToString().c_str());
      return 2;
    }
  }
  int rc = RUN_ALL_TESTS();
  std::printf("malloc fault sweep: %llu allocations failed in %llu runs, %llu errors returned\n",
              static_cast<unsigned long long>(g_total_failed), static_cast<unsigned long long>(g_total_runs),
              static_cast<unsigned long long>(g_total_errors));
  return rc;
}
