// Fault injection through a test VFS (fault_vfs.h): for each fault kind (write error, sync error, open error, full
// disk) and each durability, a representative workload is run once per N = 1 .. (calls of the faulted method the
// workload makes), with the Nth call failing. Each run proves:
//   - every call either succeeds or returns a clear Status (kIoError / kBusy / kInternal, with a message); no crash;
//   - after a transient (one-shot) fault, retrying the failed call succeeds;
//   - reads that succeed see every write acknowledged before them;
// and after the store is closed, the fault disarmed and the store reopened (which must succeed):
//   - PRAGMA integrity_check is "ok" and foreign keys hold;
//   - every conversation's counters equal a recount over its messages, positions are 0..n-1;
//   - every acknowledged message is present exactly once, with its content; acknowledged conversations, tool calls,
//     deletes, titles and archive flags are as acknowledged;
//   - every batch is present entirely or not at all (acknowledged batches entirely);
//   - the store works: a new write and a read of it succeed.
// The fault stays armed through Close (its checkpoint is part of the workload). The full-disk fault is sticky
// (every write from the Nth on fails until disarmed); the others fail one call. The workload includes checkpoints
// by another connection (as another process would run them) under the same fault.
// Three more sweeps fault only a concurrent phase (4 threads writing at once, the WAL writes slowed so that their
// writes are group-committed): a fault then hits a group transaction, whose other writes must commit, or fail and
// succeed when retried. The group commits seen are counted (WAL commit frames vs acknowledged writes).
//
// Prints one line per sweep and a summary: "fault sweep: K faults injected (...) in R runs, E errors returned,
// M acknowledged writes checked".
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fault_checks.h"
#include "fault_vfs.h"
#include "test_util.h"

namespace convstore {
namespace {

using fault_vfs::Kind;

constexpr const char* kUser = "alice@company.com";

struct Totals {
  std::map<std::string, uint64_t> faults_by_kind;
  uint64_t runs = 0;
  uint64_t faults = 0;
  uint64_t acked_checked = 0;
  uint64_t errors_returned = 0;
};
Totals g_totals;

// What one run of the workload was told: every acknowledged write, every error.
struct Outcome {
  struct Msg {
    std::string id, conversation, request_id, content;
  };
  struct Batch {
    std::string tag, conversation;
    size_t size = 0;
    bool acked = false;
  };
  std::vector<std::string> problems;  // broken expectations noticed while running
  int64_t vectors_tried = 0;  // vectors of the one put_embeddings call (all or nothing)
  int64_t vectors_put = 0;    // ... when it was acknowledged
  uint64_t errors = 0;
  uint64_t acked_writes = 0;
  uint64_t grouped = 0;  // acknowledged writes of the concurrent phase beyond the WAL commits it made
  std::set<std::string> conversations;  // creation acknowledged
  std::set<std::string> deleted;        // deletion acknowledged
  std::vector<Msg> messages;            // acknowledged messages (single and batch), less removed ones
  std::vector<Msg> removed;             // acknowledged messages whose delete or pop was acknowledged
  std::vector<Msg> maybe_removed;       // acknowledged messages whose delete or pop failed (it may have landed)
  std::vector<Batch> batches;
  std::set<std::string> tool_calls;     // acknowledged tool call ids
  // A field's acknowledged value, plus values attempted after it whose calls failed (they may have landed).
  std::map<std::string, std::string> title_acked;
  std::map<std::string, std::set<std::string>> title_maybe;
  std::map<std::string, bool> archived_acked;
  std::map<std::string, std::set<bool>> archived_maybe;
};

std::string Ctx(Kind kind, uint64_t n, Durability d) {
  return std::string("[fault ") + fault_vfs::KindName(kind) + " N=" + std::to_string(n) +
         (d == Durability::kFull ? " durability=full]" : " durability=normal]");
}

class Workload {
 public:
  static constexpr int kThreads = 4;

  Workload(std::string path, Durability durability, bool sticky, bool concurrent, bool exclusive = false)
      : path_(std::move(path)), durability_(durability), sticky_(sticky), concurrent_(concurrent),
        exclusive_(exclusive) {}

  Options StoreOptions() const {
    Options o;
    o.durability = durability_;
    o.exclusive = exclusive_;
    o.log_level = LogLevel::kOff;  // thousands of expected errors; the test reports what matters
    o.slow_operation_ms = 0;
    o.background_indexing = false;  // its own thread would take numbered faults at moments the sweep does not choose
    return o;
  }

  // Runs every step; the store is closed at the end (Close is part of the workload).
  void Run() {
    OpenStore();
    if (store_ == nullptr) return;
    std::string a = Create("A");
    std::string b = Create("B");
    for (int i = 0; i < 4; ++i) AddOne(i % 2 == 0 ? a : b, i);
    Batch(a, "b1", 3, 40);
    Update(a, "A, renamed");
    std::string first_a = FirstMessageOf(a);
    ToolCall(first_a, "dig");
    if (concurrent_) Concurrent(a, b);
    CheckRead(a);
    Batch(b, "b2", 4, 40);
    Archive(b, true);
    // A conversation created, written and deleted.
    std::string c = Create("C");
    AddOne(c, 100);
    Delete(c);
    Checkpoint();
    List();
    Context(a);
    ListTools(first_a);
    for (int i = 4; i < 7; ++i) AddOne(i % 2 == 0 ? a : b, i);
    Remove("req-2");
    Batch(a, "b3", 12, 2000);  // ~24 KiB: several pages in one transaction
    if (AddOne(a, 8)) Pop(a, "req-8");  // only when the newest message is that single, never a batch's
    SearchAndPurge();
    ToolCall(FirstMessageOf(b), "traceroute");
    Checkpoint();
    Update(b, "B, renamed");
    Archive(b, false);
    CheckRead(b);
    CheckRead(a);
    (void)store_->Close();
    store_.reset();
  }

  Outcome out;
  // When set, called at the start and end of the concurrent phase (a sweep that faults only that phase arms and
  // disarms there).
  std::function<void()> phase_start, phase_end;

 private:
  // Records a call's outcome. Returns true if it succeeded.
  template <typename R>
  bool Note(const std::string& step, const R& r, bool is_retry) {
    const Status& s = StatusOf(r);
    if (s.ok()) return true;
    std::lock_guard lock(mu_);
    ++out.errors;
    if (s.code() != Code::kIoError && s.code() != Code::kBusy && s.code() != Code::kInternal)
      out.problems.push_back(step + ": unexpected error code " + s.ToString());
    if (s.message().empty()) out.problems.push_back(step + ": error " + std::string(CodeName(s.code())) +
                                                    " without a message");
    if (is_retry && !sticky_)
      out.problems.push_back(step + ": retry after a transient fault failed too: " + s.ToString());
    return false;
  }
  static const Status& StatusOf(const Status& s) { return s; }
  template <typename T>
  static const Status& StatusOf(const Result<T>& r) { return r.status(); }

  // Calls f() once and, if it fails, once more (as a client retries after an error). Returns the last result.
  template <typename F>
  auto Retry(const std::string& step, F&& f) -> decltype(f()) {
    auto r = f();
    if (Note(step, r, false)) return r;
    auto again = f();
    Note(step + " (retry)", again, true);
    return again;
  }

  void OpenStore() {
    auto r = Retry("open", [&] { return ConversationStore::Open(path_, StoreOptions()); });
    if (r.ok()) store_ = std::move(*r);
  }

  std::string Create(const std::string& title) {
    NewConversation nc;
    nc.user_key = kUser;
    nc.title = title;
    nc.metadata_json = R"({"suite":"fault"})";
    auto r = Retry("create " + title, [&] { return store_->CreateConversation(nc); });
    if (!r.ok()) return "";
    ++out.acked_writes;
    out.conversations.insert(r->id);
    out.title_acked[r->id] = title;
    out.archived_acked[r->id] = false;
    return r->id;
  }

  static NewMessage MakeMessage(int i, const std::string& request_id, size_t content_bytes) {
    NewMessage m;
    m.role = i % 2 == 0 ? Role::kUser : Role::kAssistant;
    m.content = "message " + std::to_string(i) + " ";
    m.content.resize(std::max(m.content.size(), content_bytes), static_cast<char>('a' + i % 26));
    m.model = "gpt-test";
    m.tokens_input = 10 + i;
    m.tokens_output = 2 * i;
    m.tokens_cached_input = i % 3;
    m.tokens_reasoning = i % 5;
    m.cost_nanousd = 1000 * (i + 1);
    m.latency_us = 1500;
    m.request_id = request_id;
    return m;
  }

  void Acked(const Message& m, const std::string& conversation) {
    out.messages.push_back({m.id, conversation, m.request_id, m.content});
  }

  bool AddOne(const std::string& conv, int i) {
    if (conv.empty()) return false;
    NewMessage m = MakeMessage(i, "req-" + std::to_string(i), 0);
    auto r = Retry("add_message " + std::to_string(i), [&] { return store_->AddMessage(conv, m); });
    if (!r.ok()) return false;
    std::lock_guard lock(mu_);
    ++out.acked_writes;
    if (r->content != m.content || r->request_id != m.request_id)
      out.problems.push_back("add_message " + std::to_string(i) + " returned another message");
    Acked(*r, conv);
    return true;
  }

  // Moves the acknowledged message with this request_id to removed (acked) or maybe_removed.
  void Removed(const std::string& request_id, bool acked) {
    for (size_t i = 0; i < out.messages.size(); ++i) {
      if (out.messages[i].request_id != request_id) continue;
      (acked ? out.removed : out.maybe_removed).push_back(out.messages[i]);
      out.messages.erase(out.messages.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
  }

  // Deletes an acknowledged single message. A retry after a failure that did land answers kNotFound: done.
  void Remove(const std::string& request_id) {
    std::string id;
    for (const auto& m : out.messages)
      if (m.request_id == request_id) id = m.id;
    if (id.empty()) return;
    auto r = store_->DeleteMessage(id);
    bool acked = Note("delete_message " + request_id, r, false);
    if (!acked) {
      auto again = store_->DeleteMessage(id);
      acked = again.ok() || again.status().code() == Code::kNotFound;
      if (!acked) Note("delete_message " + request_id + " (retry)", again, true);
    }
    if (acked) {
      ++out.acked_writes;
      if (r.ok() && r->request_id != request_id) out.problems.push_back("delete_message returned another message");
    }
    Removed(request_id, acked);
  }

  // Pops the newest message of conv, which the caller knows is the single `request_id`; not retried (a retry
  // could pop the next one).
  void Pop(const std::string& conv, const std::string& request_id) {
    auto r = store_->PopMessage(conv);
    const bool acked = Note("pop_message " + request_id, r, false);
    if (acked) {
      ++out.acked_writes;
      if (!r->has_value() || (*r)->request_id != request_id)
        out.problems.push_back("pop_message returned another message than " + request_id);
    }
    Removed(request_id, acked);
  }

  void Batch(const std::string& conv, const std::string& tag, int n, size_t content_bytes) {
    if (conv.empty()) return;
    std::vector<NewMessage> batch;
    for (int k = 0; k < n; ++k) {
      NewMessage m = MakeMessage(k, tag + "-" + std::to_string(k), content_bytes);
      m.metadata_json = R"({"batch":")" + tag + R"(","k":)" + std::to_string(k) + "}";
      batch.push_back(std::move(m));
    }
    Outcome::Batch rec{tag, conv, batch.size(), false};
    auto r = Retry("add_messages " + tag, [&] { return store_->AddMessages(conv, batch); });
    std::lock_guard lock(mu_);
    if (r.ok()) {
      ++out.acked_writes;
      rec.acked = true;
      if (r->size() != batch.size()) out.problems.push_back("add_messages " + tag + " returned a short batch");
      for (const Message& m : *r) Acked(m, conv);
    }
    out.batches.push_back(rec);
  }

  void Update(const std::string& conv, const std::string& title) {
    if (conv.empty()) return;
    ConversationUpdate u;
    u.title = title;
    u.metadata_json = R"({"suite":"fault","renamed":true})";
    auto r = Retry("update " + title, [&] { return store_->UpdateConversation(conv, u); });
    if (r.ok()) {
      ++out.acked_writes;
      out.title_acked[conv] = title;
      out.title_maybe[conv].clear();
    } else {
      out.title_maybe[conv].insert(title);
    }
  }

  void Archive(const std::string& conv, bool archived) {
    if (conv.empty()) return;
    Status s = Retry("archive", [&] { return store_->SetArchived(conv, archived); });
    if (s.ok()) {
      ++out.acked_writes;
      out.archived_acked[conv] = archived;
      out.archived_maybe[conv].clear();
    } else {
      out.archived_maybe[conv].insert(archived);
    }
  }

  void Delete(const std::string& conv) {
    if (conv.empty()) return;
    Status s = store_->DeleteConversation(conv);  // not retried: a retry of a landed delete is kNotFound
    if (Note("delete", s, false)) {
      ++out.acked_writes;
      out.deleted.insert(conv);
    }
  }

  // Several threads write at once, the writer slowed down so that their writes queue up and are group-committed
  // (one transaction, a savepoint each): a fault then hits a group, whose other writes must survive or be retried.
  void Concurrent(const std::string& a, const std::string& b) {
    if (a.empty() || b.empty()) return;
    const uint64_t commits_before = fault_vfs::Get().wal_commits;
    const uint64_t acked_before = out.acked_writes;
    fault_vfs::SetWriteDelayUs(200);
    if (phase_start) phase_start();
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        ready.fetch_add(1);
        while (ready.load() < kThreads) std::this_thread::yield();
        const std::string& conv = t % 2 == 0 ? a : b;
        for (int i = 0; i < 3; ++i) AddOne(conv, 1000 + 10 * t + i);
        Batch(conv, "t" + std::to_string(t), 2, 40);
      });
    }
    for (auto& th : threads) th.join();
    if (phase_end) phase_end();
    fault_vfs::SetWriteDelayUs(0);
    const uint64_t acked = out.acked_writes - acked_before;
    const uint64_t commits = fault_vfs::Get().wal_commits - commits_before;
    if (commits < acked) out.grouped += acked - commits;
  }

  // Another process checkpoints the WAL into the database and truncates it (under the same fault: it shares the
  // VFS). Its outcome is not the library's to report; the store must keep working whatever it did.
  void Checkpoint() {
    if (exclusive_) return;  // no other connection may open an exclusive handle's file
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
      sqlite3_busy_timeout(db, 5000);
      (void)sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
    }
    sqlite3_close(db);
  }

  // The full-text index: a search indexes the rows waiting for it, then the purge merges the removed ones' tokens
  // away (what the background indexer, off in this workload, would do).
  void SearchAndPurge() {
    TextSearchQuery q;
    q.text = "message";
    q.limit = 1000;
    auto found = Retry("search_text", [&] { return store_->SearchText(q); });
    if (found.ok() && found->unindexed != 0)
      out.problems.push_back("search_text left " + std::to_string(found->unindexed) + " rows unindexed");
    (void)Retry("purge_search_index", [&] { return store_->PurgeSearchIndex(); });
    // Vectors for every acknowledged message, then a search over them.
    auto space = Retry("create_embedding_space", [&] {
      return store_->CreateEmbeddingSpace({.name = "fault", .dimension = 3, .metric = VectorMetric::kL2});
    });
    if (!space.ok() || out.messages.empty()) return;
    std::vector<EmbeddingInput> vectors;
    for (size_t k = 0; k < out.messages.size(); ++k)
      if (!out.deleted.count(out.messages[k].conversation))
        vectors.push_back({out.messages[k].id, {1, 2, static_cast<float>(k)}});
    out.vectors_tried = static_cast<int64_t>(vectors.size());
    if (Retry("put_embeddings", [&] { return store_->PutEmbeddings("fault", vectors); }).ok()) {
      out.vectors_put = static_cast<int64_t>(vectors.size());
      auto near = Retry("search_vectors",
                        [&] { return store_->SearchVectors({.space = "fault", .vector = {1, 2, 0}, .k = 1000}); });
      if (near.ok() && static_cast<int64_t>(near->hits.size()) != out.vectors_put)
        out.problems.push_back("search_vectors found " + std::to_string(near->hits.size()) + " of " +
                               std::to_string(out.vectors_put) + " vectors");
      // The approximate index: its setting written under faults, then the same search through it.
      if (Retry("create_vector_index", [&] {
            return store_->CreateVectorIndex("fault", {.m = 4, .ef_construction = 20, .ef_search = 20});
          }).ok()) {
        auto approx = Retry("search_vectors (index)",
                            [&] { return store_->SearchVectors({.space = "fault", .vector = {1, 2, 0}, .k = 1000}); });
        if (approx.ok() && static_cast<int64_t>(approx->hits.size()) != out.vectors_put)
          out.problems.push_back("search_vectors through the index found " + std::to_string(approx->hits.size()) +
                                 " of " + std::to_string(out.vectors_put) + " vectors");
      }
    }
  }

  std::string FirstMessageOf(const std::string& conv) const {
    for (const auto& m : out.messages)
      if (m.conversation == conv) return m.id;
    return "";
  }

  void ToolCall(const std::string& message_id, const std::string& tool) {
    if (message_id.empty()) return;
    NewToolCall t;
    t.tool_name = tool;
    t.input_json = R"({"host":"example.com"})";
    t.output_json = R"({"ok":true})";
    t.duration_us = 1200;
    auto r = store_->AddToolCall(message_id, t);  // not idempotent: no retry
    if (Note("add_tool_call " + tool, r, false)) {
      ++out.acked_writes;
      out.tool_calls.insert(r->id);
    }
  }

  // Read-your-writes: a read that succeeds shows every message acknowledged so far, with consistent counters.
  void CheckRead(const std::string& conv) {
    if (conv.empty()) return;
    auto r = Retry("get_conversation", [&] { return store_->GetConversation(conv); });
    if (!r.ok()) return;
    std::set<std::string> ids;
    for (size_t i = 0; i < r->messages.size(); ++i) {
      ids.insert(r->messages[i].id);
      if (i > 0 && r->messages[i].position <= r->messages[i - 1].position)  // gaps after deletes, never disorder
        out.problems.push_back("get_conversation: message " + std::to_string(i) + " has position " +
                               std::to_string(r->messages[i].position) + " after " +
                               std::to_string(r->messages[i - 1].position));
    }
    if (r->conversation.message_count != static_cast<int64_t>(r->messages.size()))
      out.problems.push_back("get_conversation: message_count " + std::to_string(r->conversation.message_count) +
                             " but " + std::to_string(r->messages.size()) + " messages");
    for (const auto& m : out.messages)
      if (m.conversation == conv && !ids.count(m.id))
        out.problems.push_back("get_conversation: acknowledged message " + m.id + " (" + m.request_id +
                               ") is missing");
  }

  void List() {
    // The user exists once a conversation was created; before that kNotFound is the right answer.
    if (out.conversations.empty()) return;
    ListConversationsOptions lo;
    lo.user_key = kUser;
    lo.limit = 100;
    lo.include_archived = true;
    auto r = Retry("list_conversations", [&] { return store_->ListConversations(lo); });
    if (!r.ok()) return;
    std::set<std::string> ids;
    for (const auto& c : r->items) ids.insert(c.id);
    for (const auto& id : out.conversations)
      if (!out.deleted.count(id) && !ids.count(id))
        out.problems.push_back("list_conversations: acknowledged conversation " + id + " is missing");
  }

  void Context(const std::string& conv) {
    if (conv.empty()) return;
    auto r = Retry("get_context", [&] { return store_->GetContext(conv, 1'000'000); });
    if (!r.ok()) return;
    std::set<std::string> ids;
    for (const auto& m : *r) ids.insert(m.id);
    for (const auto& m : out.messages)
      if (m.conversation == conv && !ids.count(m.id))
        out.problems.push_back("get_context: acknowledged message " + m.id + " is missing");
  }

  void ListTools(const std::string& message_id) {
    if (message_id.empty()) return;
    auto r = Retry("list_tool_calls", [&] { return store_->ListToolCalls(message_id); });
    if (!r.ok()) return;
    std::set<std::string> ids;
    for (const auto& t : *r) ids.insert(t.id);
    // Only the first tool call targets this message by the time it is listed.
    for (const auto& id : out.tool_calls)
      if (!ids.count(id)) out.problems.push_back("list_tool_calls: acknowledged tool call " + id + " is missing");
  }

  std::string path_;
  Durability durability_;
  bool sticky_;
  bool concurrent_;
  bool exclusive_;
  std::mutex mu_;  // guards `out` during the concurrent phase
  std::unique_ptr<ConversationStore> store_;
};

// Reopens the store (fault disarmed) and checks the file against what the workload was told. Returns problems;
// adds to `checked` the acknowledged writes whose effect was verified.
std::vector<std::string> VerifyAfterReopen(const std::string& path, const Outcome& out, Options options,
                                           uint64_t& checked) {
  std::vector<std::string> problems;
  // Every open-time check (quick_check, the schema, the derived tables' invariants) must pass after any fault.
  options.quick_check_on_open = true;
  // Shared, whatever the workload's mode: the checks below read the file beside the store (after an exclusive
  // workload, this open is the shared one that recovers its WAL).
  options.exclusive = false;
  auto opened = ConversationStore::Open(path, options);
  if (!opened.ok()) {
    problems.push_back("reopen failed: " + opened.status().ToString());
    return problems;
  }
  auto store = std::move(*opened);

  {
    fault_check::RawDb raw(path);
    if (!raw.ok()) {
      problems.push_back("raw open failed: " + raw.error());
      return problems;
    }
    if (std::string ic = fault_check::IntegrityCheck(raw); ic != "ok") problems.push_back("integrity_check: " + ic);
    for (auto& p : fault_check::CheckInvariants(raw)) problems.push_back(p);

    try {
      for (const auto& m : out.messages) {
        if (out.deleted.count(m.conversation)) continue;  // went with its conversation
        if (raw.Int("SELECT count(*) FROM messages WHERE uid = ?1", {m.id}) != 1) {
          problems.push_back("acknowledged message " + m.id + " (" + m.request_id + ") is not present exactly once");
          continue;
        }
        auto row = raw.Column(
            "SELECT c.uid || '|' || coalesce(m.request_id, '') || '|' || m.content FROM messages m"
            " JOIN conversations c ON c.id = m.conversation_id WHERE m.uid = ?1",
            {m.id});
        if (row.size() != 1 || row[0] != m.conversation + "|" + m.request_id + "|" + m.content)
          problems.push_back("acknowledged message " + m.id + " was stored with other fields");
        if (!m.request_id.empty() &&
            raw.Int("SELECT count(*) FROM messages WHERE request_id = ?1", {m.request_id}) != 1)
          problems.push_back("request_id " + m.request_id + " is not present exactly once");
        ++checked;
      }
      for (const auto& m : out.removed) {
        if (out.deleted.count(m.conversation)) continue;
        if (raw.Int("SELECT count(*) FROM messages WHERE uid = ?1", {m.id}) != 0)
          problems.push_back("message " + m.id + " (" + m.request_id + ") survived its acknowledged delete");
        if (raw.Int("SELECT count(*) FROM message_tombstones WHERE message_uid = ?1", {m.id}) != 1)
          problems.push_back("deleted message " + m.id + " has no tombstone (its spend would be lost)");
        ++checked;
      }
      for (const auto& m : out.maybe_removed) {
        if (out.deleted.count(m.conversation)) continue;
        if (raw.Int("SELECT count(*) FROM messages WHERE uid = ?1", {m.id}) +
                raw.Int("SELECT count(*) FROM message_tombstones WHERE message_uid = ?1", {m.id}) != 1)
          problems.push_back("message " + m.id + " is neither stored once nor tombstoned once");
      }
      for (const auto& b : out.batches) {
        int64_t n = raw.Int("SELECT count(*) FROM messages WHERE json_extract(metadata, '$.batch') = ?1", {b.tag});
        if (n != 0 && n != static_cast<int64_t>(b.size))
          problems.push_back("partial batch " + b.tag + ": " + std::to_string(n) + " of " + std::to_string(b.size) +
                             " messages present");
        else if (b.acked && n != static_cast<int64_t>(b.size))
          problems.push_back("acknowledged batch " + b.tag + " is missing");
        if (b.acked) ++checked;
      }
      for (const auto& id : out.conversations) {
        int64_t n = raw.Int("SELECT count(*) FROM conversations WHERE uid = ?1", {id});
        // A delete and its audit entry commit together: an entry exactly when the conversation is gone.
        const int64_t audited = raw.Int(
            "SELECT count(*) FROM audit_log WHERE action = 'conversation.deleted' AND resource_id = ?1", {id});
        if (audited != (n == 0 ? 1 : 0))
          problems.push_back("conversation " + id + " has " + std::to_string(audited) + " deletion audit entries and " +
                             std::to_string(n) + " rows");
        if (out.deleted.count(id)) {
          if (n != 0) problems.push_back("conversation " + id + " survived its acknowledged delete");
          ++checked;
          continue;
        }
        if (n != 1) {
          problems.push_back("acknowledged conversation " + id + " is missing");
          continue;
        }
        ++checked;
        std::string title = raw.Column("SELECT title FROM conversations WHERE uid = ?1", {id}).at(0);
        auto maybe = out.title_maybe.count(id) ? out.title_maybe.at(id) : std::set<std::string>{};
        if (title != out.title_acked.at(id) && !maybe.count(title))
          problems.push_back("conversation " + id + " has title '" + title + "', acknowledged '" +
                             out.title_acked.at(id) + "'");
        bool archived = raw.Int("SELECT archived FROM conversations WHERE uid = ?1", {id}) == 1;
        auto amaybe = out.archived_maybe.count(id) ? out.archived_maybe.at(id) : std::set<bool>{};
        if (archived != out.archived_acked.at(id) && !amaybe.count(archived))
          problems.push_back("conversation " + id + " has archived=" + std::to_string(archived) +
                             " against the acknowledged value");
      }
      for (const auto& id : out.tool_calls) {
        if (raw.Int("SELECT count(*) FROM tool_calls WHERE uid = ?1", {id}) != 1)
          problems.push_back("acknowledged tool call " + id + " is missing");
        ++checked;
      }
    } catch (const std::exception& e) {
      problems.push_back(std::string("verification query failed: ") + e.what());
    }
  }

  // Through the API: each surviving conversation reads back consistently.
  for (const auto& id : out.conversations) {
    if (out.deleted.count(id)) continue;
    auto r = store->GetConversation(id);
    if (!r.ok()) {
      problems.push_back("get_conversation after reopen: " + r.status().ToString());
      continue;
    }
    if (r->conversation.message_count != static_cast<int64_t>(r->messages.size()))
      problems.push_back("get_conversation after reopen: message_count disagrees with the messages");
  }

  // The vectors: all of the one put or none, and all of them when it was acknowledged.
  {
    const int64_t stored = testing::QueryInt(path, "SELECT count(*) FROM message_embeddings");
    if (stored != 0 && stored != out.vectors_tried)
      problems.push_back("a partial put_embeddings: " + std::to_string(stored) + " of " +
                         std::to_string(out.vectors_tried) + " vectors");
    if (out.vectors_put > 0 && stored != out.vectors_put)
      problems.push_back("acknowledged vectors are missing: " + std::to_string(stored) + " of " +
                         std::to_string(out.vectors_put));
  }

  // The full-text index equals what the rows imply (what a fault left unindexed is caught up first).
  auto verified = store->VerifySearchIndex();
  if (!verified.ok())
    problems.push_back("verify_search_index after reopen: " + verified.status().ToString());
  else if (!verified->ok)
    problems.push_back("verify_search_index after reopen: " +
                       (verified->problems.empty() ? std::string("not ok") : verified->problems.front()));

  // The store works again.
  NewConversation nc;
  nc.user_key = kUser;
  nc.title = "after the fault";
  auto conv = store->CreateConversation(nc);
  if (!conv.ok()) {
    problems.push_back("create after reopen: " + conv.status().ToString());
  } else {
    NewMessage m;
    m.content = "still works";
    m.request_id = "after-the-fault";
    auto added = store->AddMessage(conv->id, m);
    auto read = store->GetConversation(conv->id);
    if (!added.ok()) problems.push_back("add_message after reopen: " + added.status().ToString());
    if (!read.ok() || read->messages.size() != 1 || read->messages[0].content != "still works")
      problems.push_back("read after reopen did not return the new message");
  }
  if (Status s = store->Close(); !s.ok()) problems.push_back("close after reopen: " + s.ToString());
  return problems;
}

struct SweepParam {
  Kind kind;
  Durability durability;
  bool concurrent = false;
  bool exclusive = false;  // the store opened with Options::exclusive (its WAL without a -shm file)
};

void PrintTo(const SweepParam& p, std::ostream* os) {
  *os << fault_vfs::KindName(p.kind) << (p.durability == Durability::kFull ? "/full" : "/normal")
      << (p.concurrent ? "/concurrent" : "") << (p.exclusive ? "/exclusive" : "");
}

class FaultSweep : public ::testing::TestWithParam<SweepParam> {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(fault_vfs::Install()) << "could not register the fault VFS"; }
  void SetUp() override {
    ASSERT_TRUE(fault_vfs::Install());
    // No power loss is simulated, so real fsyncs would only cost time; SQLite still sees every xSync.
    fault_vfs::SetRealSync(false);
  }
  void TearDown() override {
    fault_vfs::Disarm();
    fault_vfs::SetRealSync(true);
  }
};

TEST_P(FaultSweep, EveryFaultLeavesAConsistentStore) {
  const Kind kind = GetParam().kind;
  const Durability durability = GetParam().durability;
  const bool sticky = kind == Kind::kDiskFull;
  const bool concurrent = GetParam().concurrent;
  const bool exclusive = GetParam().exclusive;
  auto started = std::chrono::steady_clock::now();

  // Dry run: count the calls of the faulted method, and check the workload itself against a healthy store.
  uint64_t calls = 0;
  {
    testing::TempDb db;
    Workload w(db.path(), durability, sticky, concurrent, exclusive);
    if (concurrent) {  // count only the concurrent phase's calls
      w.phase_start = [&] { fault_vfs::Arm(kind, 0); };
      w.phase_end = [&] { calls = fault_vfs::CallsSinceArm(); fault_vfs::Disarm(); };
    } else {
      fault_vfs::Arm(kind, 0);  // counting only
    }
    w.Run();
    if (!concurrent) calls = fault_vfs::CallsSinceArm();
    fault_vfs::Disarm();
    ASSERT_EQ(w.out.errors, 0u) << "the workload fails without faults";
    ASSERT_TRUE(w.out.problems.empty()) << w.out.problems.front();
    uint64_t checked = 0;
    auto problems = VerifyAfterReopen(db.path(), w.out, w.StoreOptions(), checked);
    ASSERT_TRUE(problems.empty()) << problems.front();
  }
  ASSERT_GT(calls, 0u) << "the workload never calls the faulted method";

  // CONVSTORE_FAULT_SWEEP_STRIDE=k faults every k-th call only (the sanitizer stage's shorter sweep).
  uint64_t stride = 1;
  if (const char* env = std::getenv("CONVSTORE_FAULT_SWEEP_STRIDE"); env != nullptr && std::atoll(env) > 0)
    stride = static_cast<uint64_t>(std::atoll(env));
  // Exclusive mode runs the shared mode's pager and WAL code but for the shared memory: every second call is
  // enough there to keep the whole CI run within its time.
  if (exclusive) stride *= 2;
  // A sweep of few calls (the concurrent phase: a group commit's frames go out in one write) is run whole, however
  // long the stride: sampled, it would fault only its first calls.
  constexpr uint64_t kMinSweepRuns = 16;
  stride = std::min(stride, std::max<uint64_t>(1, calls / kMinSweepRuns));
  uint64_t faults_before = fault_vfs::FaultsInjected();
  uint64_t checked = 0, errors = 0, failing_runs = 0, grouped = 0, runs = 0;
  for (uint64_t n = 1; n <= calls; n += stride) {
    ++runs;
    testing::TempDb db;
    Workload w(db.path(), durability, sticky, concurrent, exclusive);
    if (concurrent) {  // the fault window is the concurrent phase (the other sweeps cover the rest)
      w.phase_start = [&] { fault_vfs::Arm(kind, n, sticky); };
      w.phase_end = [&] { fault_vfs::Disarm(); };
    } else {
      fault_vfs::Arm(kind, n, sticky);
    }
    w.Run();
    fault_vfs::Disarm();
    errors += w.out.errors;
    grouped += w.out.grouped;
    std::vector<std::string> problems = w.out.problems;
    for (auto& p : VerifyAfterReopen(db.path(), w.out, w.StoreOptions(), checked)) problems.push_back(p);
    if (!problems.empty()) {
      ++failing_runs;
      if (failing_runs <= 10) {
        std::string all;
        for (const auto& p : problems) all += "\n  " + p;
        ADD_FAILURE() << Ctx(kind, n, durability) << " " << problems.size() << " problem(s):" << all;
      }
    }
  }
  uint64_t faults = fault_vfs::FaultsInjected() - faults_before;
  EXPECT_EQ(failing_runs, 0u) << Ctx(kind, 0, durability) << " runs with problems (first 10 detailed above)";
  if (concurrent) {
    // Thread timing varies the number of calls from run to run, so a few N past a run's end may not fire.
    EXPECT_GE(faults, runs / 2) << "most armed faults never fired";
    EXPECT_GT(grouped, 0u) << "no run group-committed writes: the concurrent phase tested nothing more";
  } else {
    EXPECT_GE(faults, runs) << "some armed faults never fired";
  }

  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("fault sweep %s/%s%s%s: N=1..%llu, %llu faults injected, %llu errors returned, %llu acknowledged writes "
              "checked%s (%.1f s)\n",
              fault_vfs::KindName(kind), durability == Durability::kFull ? "full" : "normal",
              concurrent ? "/concurrent" : "", exclusive ? "/exclusive" : "", static_cast<unsigned long long>(calls),
              static_cast<unsigned long long>(faults), static_cast<unsigned long long>(errors),
              static_cast<unsigned long long>(checked),
              concurrent ? (", " + std::to_string(grouped) + " writes group-committed").c_str() : "", secs);
  g_totals.faults_by_kind[fault_vfs::KindName(kind)] += faults;
  g_totals.faults += faults;
  g_totals.runs += runs;
  g_totals.acked_checked += checked;
  g_totals.errors_returned += errors;
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, FaultSweep,
    ::testing::Values(SweepParam{Kind::kWrite, Durability::kNormal}, SweepParam{Kind::kSync, Durability::kNormal},
                      SweepParam{Kind::kOpen, Durability::kNormal}, SweepParam{Kind::kDiskFull, Durability::kNormal},
                      SweepParam{Kind::kWrite, Durability::kFull}, SweepParam{Kind::kSync, Durability::kFull},
                      SweepParam{Kind::kOpen, Durability::kFull}, SweepParam{Kind::kDiskFull, Durability::kFull},
                      // Group commit under faults: several threads writing at once.
                      SweepParam{Kind::kWrite, Durability::kNormal, true},
                      SweepParam{Kind::kDiskFull, Durability::kNormal, true},
                      SweepParam{Kind::kSync, Durability::kFull, true},
                      // Exclusive mode: the WAL's index in memory, rebuilt from the WAL alone after a failure.
                      SweepParam{Kind::kWrite, Durability::kNormal, false, true}),
    [](const ::testing::TestParamInfo<SweepParam>& p) {
      return std::string(fault_vfs::KindName(p.param.kind)) +
             (p.param.durability == Durability::kFull ? "_full" : "_normal") +
             (p.param.concurrent ? "_concurrent" : "") + (p.param.exclusive ? "_exclusive" : "");
    });

// The shim itself: transparent when disarmed, counts, fires exactly the Nth call.
TEST(FaultVfs, CountsAndFiresTheNthCall) {
  ASSERT_TRUE(fault_vfs::Install());
  testing::TempDb db;
  Options quiet;
  quiet.background_indexing = false;  // no I/O on another thread between the arming and the call
  auto store = testing::OpenOrDie(db.path(), quiet);
  NewConversation nc;
  nc.user_key = kUser;
  auto conv = store->CreateConversation(nc);
  ASSERT_OK(conv);
  auto before = fault_vfs::Get();
  uint64_t faults = fault_vfs::FaultsInjected();
  fault_vfs::Arm(Kind::kWrite, 1);
  NewMessage m;
  m.content = "x";
  EXPECT_CODE(store->AddMessage(conv->id, m), Code::kIoError);
  EXPECT_EQ(fault_vfs::FaultsInjected(), faults + 1);
  ASSERT_OK(store->AddMessage(conv->id, m));  // one-shot: the next write goes through
  fault_vfs::Disarm();
  EXPECT_GT(fault_vfs::Get().writes, before.writes);
  fault_vfs::Arm(Kind::kDiskFull, 1, /*sticky=*/true);
  EXPECT_CODE(store->AddMessage(conv->id, m), Code::kIoError);
  EXPECT_CODE(store->AddMessage(conv->id, m), Code::kIoError);
  fault_vfs::Disarm();
  auto r = store->GetConversation(conv->id);
  ASSERT_OK(r);
  EXPECT_EQ(r->messages.size(), 1u);
  EXPECT_EQ(r->conversation.message_count, 1);
  ASSERT_OK(store->Close());
}

// An open that creates the file and then fails — at any of its file opens, before or after the migration
// committed — leaves nothing behind.
TEST(FaultVfs, AFailedOpenRemovesTheFileItCreated) {
  ASSERT_TRUE(fault_vfs::Install());
  int failed = 0;
  for (uint64_t nth = 1; nth <= 12; ++nth) {
    SCOPED_TRACE("open " + std::to_string(nth));
    testing::TempDb db;
    fault_vfs::Arm(Kind::kOpen, nth, /*sticky=*/true);
    auto r = ConversationStore::Open(db.path());
    fault_vfs::Disarm();
    if (r.ok()) continue;  // this open had fewer file opens than nth
    ++failed;
    struct stat sb;
    EXPECT_NE(::stat(db.path().c_str(), &sb), 0) << "the file created before the failed open is still there";
    for (const char* side : {"-wal", "-shm", "-journal"}) EXPECT_NE(::stat((db.path() + side).c_str(), &sb), 0) << side;
    ASSERT_OK(ConversationStore::Open(db.path()));
  }
  EXPECT_GT(failed, 3);
}

// The checker itself: it must notice broken counters, gapped positions and a half-present batch.
TEST(FaultChecks, NoticesBrokenInvariants) {
  testing::TempDb db;
  std::string conv_id;
  {
    auto store = testing::OpenOrDie(db.path());
    NewConversation nc;
    nc.user_key = kUser;
    auto conv = store->CreateConversation(nc);
    ASSERT_OK(conv);
    conv_id = conv->id;
    std::vector<NewMessage> batch(3);
    for (auto& m : batch) {
      m.content = "x";
      m.tokens_input = 2;
      m.metadata_json = R"({"batch":"chk"})";
    }
    ASSERT_OK(store->AddMessages(conv->id, batch));
    ASSERT_OK(store->Close());
  }
  auto exec = [&](const char* sql) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open_v2(db.path().c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(raw, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(raw);
  };
  auto problems = [&] {
    fault_check::RawDb raw(db.path());
    EXPECT_TRUE(raw.ok()) << raw.error();
    EXPECT_EQ(fault_check::IntegrityCheck(raw), "ok");
    return fault_check::CheckInvariants(raw);
  };
  EXPECT_TRUE(problems().empty());
  exec("UPDATE conversations SET tokens_input = tokens_input + 1");
  EXPECT_EQ(problems().size(), 1u);
  exec("UPDATE conversations SET tokens_input = tokens_input - 1");
  exec("UPDATE messages SET position = position + 10 WHERE position = 1");
  EXPECT_EQ(problems().size(), 1u);
  exec("UPDATE messages SET position = 1 WHERE position = 11");
  {
    // A delete folds every conversation's pending messages first: the batch's conversation row then counts it.
    auto store = testing::OpenOrDie(db.path());
    NewConversation nc;
    nc.user_key = kUser;
    auto other = store->CreateConversation(nc);
    ASSERT_OK(other);
    ASSERT_OK(store->AddMessage(other->id, {.content = "other"}));
    ASSERT_OK(store->PopMessage(other->id));
    ASSERT_OK(store->Close());
  }
  EXPECT_TRUE(problems().empty());
  exec("DELETE FROM messages WHERE position = 2");  // a batch cut short, and a count that no longer matches
  fault_check::RawDb raw(db.path());
  EXPECT_EQ(raw.Int("SELECT count(*) FROM messages WHERE json_extract(metadata, '$.batch') = 'chk'"), 2);
  EXPECT_FALSE(fault_check::CheckInvariants(raw).empty());
}

class SummaryPrinter : public ::testing::Environment {
 public:
  void TearDown() override {
    if (g_totals.runs == 0) return;
    std::string kinds;
    for (const auto& [k, n] : g_totals.faults_by_kind)
      kinds += (kinds.empty() ? "" : ", ") + k + " " + std::to_string(n);
    std::printf("fault sweep: %llu faults injected (%s) in %llu runs, %llu errors returned, %llu acknowledged writes "
                "checked\n",
                static_cast<unsigned long long>(g_totals.faults), kinds.c_str(),
                static_cast<unsigned long long>(g_totals.runs),
                static_cast<unsigned long long>(g_totals.errors_returned),
                static_cast<unsigned long long>(g_totals.acked_checked));
  }
};

const auto* const kSummary = ::testing::AddGlobalTestEnvironment(new SummaryPrinter);

}  // namespace
}  // namespace convstore
