#include "bench/workloads.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <utility>

#include "bench/raw_sqlite.h"
#include "convstore/store.h"

namespace convstore::cli::bench {

namespace {

constexpr int kReadUsers = 10;
constexpr int kReadConversations = 200;  // 20 per user
constexpr int kReadMessagesEach = 50;    // 10,000 messages
// Of each conversation's messages, the newest arrive one add_message at a time, round-robin over the conversations
// (as concurrent agents' replies do), the rest in one add_messages batch: the reads meet conversations whose
// newest messages are still pending (counted when read) and a full window of messages past the cost watermark.
constexpr int kReadArrivingEach = 10;
constexpr int kVectorDimension = 128;
constexpr const char* kModel = "gpt-4o";
constexpr const char* kTools[] = {"bgp_check", "ping", "traceroute", "config_diff", "ticket_lookup",
                                  "log_search", "dns_lookup", "interface_status", "route_table", "cert_check"};

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr uint64_t kRareWords = 2000;

// Plausible chat text of `bytes` bytes, varying with i (deterministic): common words, and every eighth word a rarer
// one ("rt" and a number below kRareWords).
std::string Text(int64_t i, int bytes) {
  static const char* const kWords[] = {
      "the", "bgp", "session", "flaps", "every", "hour", "on", "edge", "router", "peer", "config", "shows", "hold",
      "timer", "expired", "after", "route", "updates", "from", "upstream", "provider", "check", "interface",
      "errors", "latency", "spikes", "during", "maintenance", "window", "agent", "suggests", "raising", "keepalive",
      "to", "ten", "seconds", "and", "verifying", "mtu", "mismatch", "between", "links", "customer", "reports",
      "packet", "loss", "in", "region", "west", "dns", "resolution", "fails", "for", "internal", "names", "cert",
      "expires", "next", "week", "rotate", "it", "before", "deploy"};
  constexpr size_t kCount = sizeof kWords / sizeof kWords[0];
  uint64_t x = static_cast<uint64_t>(i) * 6364136223846793005ull + 1442695040888963407ull;
  std::string out;
  out.reserve(static_cast<size_t>(bytes) + 16);
  for (int k = 0; out.size() < static_cast<size_t>(bytes); ++k) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    if (!out.empty()) out += ' ';
    // Every eighth word one of kRareWords names (host or ticket numbers): what a search looks for.
    if (k % 8 == 7)
      out += "rt" + std::to_string((x >> 33) % kRareWords);
    else
      out += kWords[(x >> 33) % kCount];
  }
  out.resize(static_cast<size_t>(bytes));
  return out;
}

// The baseline's own message ids: 36 characters, unique per (i, part).
std::string Uid(int64_t i, int part = 0) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%08llx-%04x-7000-8000-%012llx", static_cast<unsigned long long>(i >> 48),
                static_cast<unsigned>(part & 0xffff), static_cast<unsigned long long>(i & 0xffffffffffffLL));
  return buf;
}

std::string Metadata(int64_t i) {
  return std::string(R"({"tool":")") + kTools[i % 10] + R"(","env":")" + ((i / 10) % 4 == 0 ? "prod" : "staging") +
         R"(","ticket":)" + std::to_string(i) + "}";
}

std::vector<float> Vector(int64_t i) {
  std::vector<float> v(kVectorDimension);
  uint64_t x = static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull + 1;
  for (float& f : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    f = static_cast<float>(static_cast<double>(x % 2000001) / 1000000.0 - 1.0);
  }
  return v;
}

void Check(const Status& s, const char* what) {
  if (!s.ok()) throw std::runtime_error(std::string(what) + ": " + s.ToString());
}
template <typename T>
T Check(Result<T> r, const char* what) {
  if (!r.ok()) Check(r.status(), what);
  return std::move(r).value();
}

std::shared_ptr<ConversationStore> OpenStore(const std::string& path, bool full_sync, bool exclusive = false) {
  Options o;
  o.durability = full_sync ? Durability::kFull : Durability::kNormal;
  o.exclusive = exclusive;
  o.log_level = LogLevel::kError;  // the slow-operation warnings of a loaded machine would break the table
  return std::shared_ptr<ConversationStore>(Check(ConversationStore::Open(path, o), "open the store"));
}

// Message i as both sides write it (the baseline's RawInsert makes the same row).
NewMessage Message(int64_t i, std::string content) {
  NewMessage m;
  m.role = i % 2 == 0 ? Role::kUser : Role::kAssistant;
  m.content = std::move(content);
  m.model = kModel;
  m.tokens_input = 200 + i % 50;
  m.tokens_output = 100;
  return m;
}

// The insert both sides make for message i of a raw conversation (cost as the catalog would price it).
void RawInsert(RawMessageWriter& w, int64_t conversation, int64_t i, int part, const std::string& content,
               const std::string& metadata = "{}") {
  w.Insert(conversation, Uid(i, part), i % 2 == 0 ? "user" : "assistant", content, kModel, 200 + i % 50, 100,
           1500000, NowUs(), metadata);
}

// A store and a raw database holding the same conversations (for the writers: empty ones, one per caller).
struct WriteFiles {
  std::string store_path, raw_path;
  std::vector<std::string> conversations;  // convstore ids
  std::vector<int64_t> raw_conversations;  // raw rowids
};

WriteFiles MakeWriteFiles(const BenchConfig& c, const std::string& name, int conversations) {
  WriteFiles f{c.dir + "/" + name + ".db", c.dir + "/" + name + "-raw.db", {}, {}};
  auto store = OpenStore(f.store_path, c.full_sync);
  RawDb raw(f.raw_path, c.full_sync);
  for (int k = 0; k < conversations; ++k) {
    NewConversation nc;
    nc.user_key = "writer-" + std::to_string(k) + "@example.com";
    nc.title = "writer " + std::to_string(k);
    f.conversations.push_back(Check(store->CreateConversation(nc), "create a conversation").id);
    f.raw_conversations.push_back(RawCreateConversation(raw, Uid(int64_t{1} << 40 | k), nc.user_key, nc.title, NowUs()));
  }
  Check(store->Close(), "close the store");
  return f;
}

}  // namespace

const std::vector<std::string>& WorkloadNames() {
  static const std::vector<std::string> names = {
      "insert",           "insert_exclusive", "insert_batch",    "writers_threads", "writers_processes",
      "get_conversation", "list_conversations", "cost_summary",  "metadata_search", "text_search",
      "vector_search"};
  return names;
}

struct Workloads::Data {
  BenchConfig config;
  std::vector<std::string> contents;  // 64 texts of message_bytes, reused by the inserts
  // The read workloads' files, made on first use.
  bool read_made = false;
  std::shared_ptr<ConversationStore> read_store;
  std::shared_ptr<RawDb> read_raw;
  std::vector<std::string> read_conversations;  // convstore ids
  std::vector<std::string> read_raw_uids;       // the same conversations' raw uids
  std::vector<std::string> query_texts;

  void MakeReadFiles();
};

void Workloads::Data::MakeReadFiles() {
  if (read_made) return;
  read_store = OpenStore(config.dir + "/read.db", config.full_sync);
  read_raw = std::make_shared<RawDb>(config.dir + "/read-raw.db", config.full_sync);
  EmbeddingSpaceSpec space;
  space.name = "bench";
  space.dimension = kVectorDimension;
  Check(read_store->CreateEmbeddingSpace(space), "create the embedding space");
  RawMessageWriter writer(*read_raw);
  RawStatement put_vector(*read_raw, "INSERT INTO embeddings(message_id, vector) VALUES(?1, ?2)");
  RawStatement index_text(*read_raw, "INSERT INTO messages_fts(rowid, content) SELECT id, content FROM messages "
                                     "WHERE conversation_id = ?1");
  struct Arriving {
    size_t conversation;  // index in read_conversations
    NewMessage message;
    int64_t index;        // the message's number (its vector)
  };
  std::vector<Arriving> arriving;  // per conversation, its last kReadArrivingEach messages in order
  int64_t i = 0;
  for (int c = 0; c < kReadConversations; ++c) {
    NewConversation nc;
    nc.user_key = "user-" + std::to_string(c % kReadUsers) + "@example.com";
    nc.title = Text(c + 7, 40);
    const std::string id = Check(read_store->CreateConversation(nc), "create a conversation").id;
    read_conversations.push_back(id);
    read_raw_uids.push_back(Uid(int64_t{2} << 40 | c));
    const int64_t raw_conv = RawCreateConversation(*read_raw, read_raw_uids.back(), nc.user_key, nc.title, NowUs());
    std::vector<NewMessage> batch;
    for (int k = 0; k < kReadMessagesEach; ++k) {
      NewMessage m = Message(i + k, Text(i + k, config.message_bytes));
      m.metadata_json = Metadata(i + k);
      batch.push_back(std::move(m));
    }
    const std::vector<NewMessage> first(batch.begin(), batch.end() - kReadArrivingEach);
    const auto added = Check(read_store->AddMessages(id, first), "add the read workloads' messages");
    std::vector<EmbeddingInput> vectors;
    read_raw->Exec("BEGIN");
    for (int k = 0; k < kReadMessagesEach; ++k, ++i) {
      if (k >= kReadMessagesEach - kReadArrivingEach) {
        arriving.push_back({static_cast<size_t>(c), batch[static_cast<size_t>(k)], i});
      } else {
        vectors.push_back({added[static_cast<size_t>(k)].id, Vector(i)});
      }
      RawInsert(writer, raw_conv, int64_t{3} << 40 | i, 0, batch[static_cast<size_t>(k)].content,
                batch[static_cast<size_t>(k)].metadata_json);
      const std::vector<float>& v = vectors.back().vector;
      put_vector.Bind(1, sqlite3_last_insert_rowid(read_raw->get())).BindBlob(2, v.data(), v.size() * sizeof(float));
      put_vector.Run();
    }
    // The full-text rows written with the messages, as an application keeping its FTS5 table in step does (not
    // one 'rebuild' at the end, whose single segment no live index has).
    index_text.Bind(1, raw_conv).Run();
    read_raw->Exec("COMMIT");
    Check(read_store->PutEmbeddings("bench", vectors), "put the vectors");
  }
  std::vector<EmbeddingInput> vectors;
  for (int k = 0; k < kReadArrivingEach; ++k)
    for (int c = 0; c < kReadConversations; ++c) {
      const Arriving& a = arriving[static_cast<size_t>(c * kReadArrivingEach + k)];
      const auto added = Check(read_store->AddMessage(read_conversations[a.conversation], a.message),
                               "add the read workloads' messages");
      vectors.push_back({added.id, Vector(a.index)});
    }
  Check(read_store->PutEmbeddings("bench", vectors), "put the vectors");
  Check(read_store->CatchUpSearchIndex().status(), "index the messages");
  // A common word and a rarer one: a few dozen matches of 10,000 messages, as a search for a host or a ticket.
  for (int k = 0; k < 16; ++k)
    query_texts.push_back(std::string(k % 2 == 0 ? "bgp" : "session") + " rt" + std::to_string(k * 131 % kRareWords));
  read_made = true;
}

Workloads::Workloads(BenchConfig config) : data_(std::make_unique<Data>()) {
  data_->config = std::move(config);
  for (int k = 0; k < 64; ++k) data_->contents.push_back(Text(k + 1000, data_->config.message_bytes));
}

Workloads::~Workloads() = default;

Workload Workloads::Get(const std::string& name) {
  Data& d = *data_;
  const BenchConfig& c = d.config;
  Workload w;
  w.name = name;
  if (name == "insert" || name == "insert_exclusive" || name == "insert_batch" || name == "writers_threads" ||
      name == "writers_processes") {
    const bool batch = name == "insert_batch";
    const bool exclusive = name == "insert_exclusive";
    w.workers = name.rfind("writers_", 0) == 0 ? c.writers : 1;
    w.processes = name == "writers_processes";
    w.items_per_call = batch ? c.batch : 1;
    w.convstore = batch ? "add_messages of " + std::to_string(c.batch) + " messages" : "add_message";
    w.raw = batch ? "BEGIN; " + std::to_string(c.batch) + " INSERTs; UPDATE counters; COMMIT"
                  : "BEGIN; INSERT; UPDATE counters; COMMIT";
    if (w.workers > 1)
      w.convstore += w.processes ? ", a handle per process" : ", one handle shared by the threads",
          w.raw += w.processes ? ", a connection per process" : ", a connection per thread";
    if (exclusive) w.convstore += ", exclusive", w.raw += ", locking_mode=EXCLUSIVE";
    auto files = std::make_shared<WriteFiles>(MakeWriteFiles(c, name, w.workers));
    auto shared_store = std::make_shared<std::shared_ptr<ConversationStore>>();
    const int batch_size = batch ? c.batch : 1;
    const std::vector<std::string>* contents = &d.contents;
    const bool full_sync = c.full_sync;
    w.open = [files, shared_store, batch_size, contents, full_sync, exclusive, processes = w.processes](
                 Side side, int k) -> Call {
      if (side == Side::kConvstore) {
        std::shared_ptr<ConversationStore> store;
        if (processes) {
          store = OpenStore(files->store_path, full_sync);  // this process's own handle
        } else {
          if (!*shared_store) *shared_store = OpenStore(files->store_path, full_sync, exclusive);
          store = *shared_store;
        }
        const std::string conv = files->conversations[static_cast<size_t>(k)];
        return [store, conv, batch_size, contents](int64_t i) {
          const NewMessage m = Message(i, (*contents)[static_cast<size_t>(i % 64)]);
          if (batch_size == 1) {
            Check(store->AddMessage(conv, m), "add_message");
          } else {
            const std::vector<NewMessage> messages(static_cast<size_t>(batch_size), m);
            Check(store->AddMessages(conv, messages), "add_messages");
          }
        };
      }
      auto raw = std::make_shared<RawDb>(files->raw_path, full_sync, exclusive);
      auto writer = std::make_shared<RawMessageWriter>(*raw);
      const int64_t conv = files->raw_conversations[static_cast<size_t>(k)];
      return [raw, writer, conv, batch_size, contents](int64_t i) {
        raw->Exec("BEGIN IMMEDIATE");
        for (int b = 0; b < batch_size; ++b)
          RawInsert(*writer, conv, i, b, (*contents)[static_cast<size_t>(i % 64)]);
        raw->Exec("COMMIT");
      };
    };
    return w;
  }

  d.MakeReadFiles();
  auto store = d.read_store;
  auto raw = d.read_raw;
  const auto* convs = &d.read_conversations;
  const auto* raw_uids = &d.read_raw_uids;
  const auto* texts = &d.query_texts;
  const int64_t from_us = NowUs() - int64_t{30} * 86400 * 1000000;
  w.item = "rows";
  if (name == "get_conversation") {
    w.convstore = "get_conversation (50 messages, the newest 10 added one at a time)";
    w.raw = "SELECT the conversation, then its messages by position";
    w.items_per_call = kReadMessagesEach;
    w.open = [store, raw, convs, raw_uids](Side side, int) -> Call {
      if (side == Side::kConvstore)
        return [store, convs](int64_t i) {
          Check(store->GetConversation((*convs)[static_cast<size_t>(i % kReadConversations)]), "get_conversation");
        };
      auto conv = std::make_shared<RawStatement>(
          *raw, "SELECT id, uid, user_key, title, created_at, updated_at, message_count, tokens_input, "
                "tokens_output, cost_nanousd, metadata FROM conversations WHERE uid = ?1");
      auto msgs = std::make_shared<RawStatement>(
          *raw, "SELECT uid, position, role, content, model, tokens_input, tokens_output, cost_nanousd, created_at, "
                "metadata FROM messages WHERE conversation_id = ?1 ORDER BY position");
      return [conv, msgs, raw_uids](int64_t i) {
        conv->Bind(1, (*raw_uids)[static_cast<size_t>(i % kReadConversations)]);
        if (!conv->Step()) throw std::runtime_error("raw: no such conversation");
        const int64_t id = sqlite3_column_int64(conv->get(), 0);
        std::string title(reinterpret_cast<const char*>(sqlite3_column_text(conv->get(), 3)));
        conv->Reset();
        std::vector<std::map<std::string, std::string>> rows;  // what a hand-rolled reader builds: dicts of text
        msgs->Bind(1, id);
        while (msgs->Step()) {
          auto& row = rows.emplace_back();
          for (int col = 0; col < 10; ++col) {
            const unsigned char* t = sqlite3_column_text(msgs->get(), col);
            row[sqlite3_column_name(msgs->get(), col)] = t ? reinterpret_cast<const char*>(t) : "";
          }
        }
        msgs->Reset();
        if (rows.size() != kReadMessagesEach) throw std::runtime_error("raw: a conversation lost messages");
      };
    };
  } else if (name == "list_conversations") {
    w.convstore = "list_conversations (20 most recent of a user's 20)";
    w.raw = "SELECT ... WHERE user_key = ? ORDER BY updated_at DESC LIMIT 20 (indexed)";
    w.items_per_call = kReadConversations / kReadUsers;
    w.open = [store, raw](Side side, int) -> Call {
      if (side == Side::kConvstore)
        return [store](int64_t i) {
          ListConversationsOptions o;
          o.user_key = "user-" + std::to_string(i % kReadUsers) + "@example.com";
          Check(store->ListConversations(o), "list_conversations");
        };
      auto st = std::make_shared<RawStatement>(
          *raw, "SELECT uid, title, created_at, updated_at, message_count, tokens_input, tokens_output, "
                "cost_nanousd, metadata FROM conversations WHERE user_key = ?1 ORDER BY updated_at DESC LIMIT 20");
      return [st](int64_t i) {
        st->Bind(1, "user-" + std::to_string(i % kReadUsers) + "@example.com");
        std::vector<std::string> titles;
        while (st->Step()) titles.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st->get(), 1)));
        st->Reset();
      };
    };
  } else if (name == "cost_summary") {
    w.convstore = "get_cost_summary (a user, 30 days, by day)";
    w.raw = "SUM over the user's messages in the range, GROUP BY day";
    w.items_per_call = 1;
    w.item = "summaries";
    w.open = [store, raw, from_us](Side side, int) -> Call {
      if (side == Side::kConvstore)
        return [store](int64_t i) {
          CostFilter f;
          f.user_key = "user-" + std::to_string(i % kReadUsers) + "@example.com";
          f.days = 30;
          Check(store->GetCostSummary(f), "get_cost_summary");
        };
      auto st = std::make_shared<RawStatement>(
          *raw, "SELECT m.created_at / 86400000000 AS day, count(*), sum(m.tokens_input), sum(m.tokens_output), "
                "sum(m.cost_nanousd) FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                "WHERE c.user_key = ?1 AND m.created_at >= ?2 GROUP BY day ORDER BY day DESC");
      return [st, from_us](int64_t i) {
        st->Bind(1, "user-" + std::to_string(i % kReadUsers) + "@example.com").Bind(2, from_us);
        int64_t total = 0;
        while (st->Step()) total += sqlite3_column_int64(st->get(), 4);
        st->Reset();
        if (total <= 0) throw std::runtime_error("raw: no spend");
      };
    };
  } else if (name == "metadata_search") {
    w.convstore = "search_metadata (messages containing {tool, env}, 10 newest)";
    w.raw = "json_extract() = ? on both keys, ORDER BY created_at DESC LIMIT 10";
    w.item = "hits";
    w.items_per_call = 10;
    w.open = [store, raw](Side side, int) -> Call {
      if (side == Side::kConvstore)
        return [store](int64_t i) {
          MetadataQuery q;
          q.target = MetadataTarget::kMessages;
          q.contains_json = std::string(R"({"tool":")") + kTools[i % 10] + R"(","env":"prod"})";
          if (Check(store->SearchMetadata(q), "search_metadata").messages.empty())
            throw std::runtime_error("search_metadata found nothing");
        };
      auto st = std::make_shared<RawStatement>(
          *raw, "SELECT uid, content, metadata, created_at FROM messages WHERE json_extract(metadata, '$.tool') = ?1 "
                "AND json_extract(metadata, '$.env') = ?2 ORDER BY created_at DESC LIMIT 10");
      return [st](int64_t i) {
        st->Bind(1, kTools[i % 10]).Bind(2, "prod");
        int hits = 0;
        while (st->Step()) ++hits;
        st->Reset();
        if (hits == 0) throw std::runtime_error("raw: the metadata query found nothing");
      };
    };
  } else if (name == "text_search") {
    w.convstore = "search_text (10 best, with snippets)";
    w.raw = "FTS5 MATCH, ORDER BY bm25, snippet(), LIMIT 10";
    w.item = "hits";
    w.items_per_call = 10;
    w.open = [store, raw, texts](Side side, int) -> Call {
      if (side == Side::kConvstore)
        return [store, texts](int64_t i) {
          TextSearchQuery q;
          q.text = (*texts)[static_cast<size_t>(i) % texts->size()];
          Check(store->SearchText(q), "search_text");
        };
      auto st = std::make_shared<RawStatement>(
          *raw, "SELECT m.uid, m.content, snippet(messages_fts, 0, '[', ']', '…', 16), bm25(messages_fts) "
                "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid WHERE messages_fts MATCH ?1 "
                "ORDER BY bm25(messages_fts) LIMIT 10");
      return [st, texts](int64_t i) {
        st->Bind(1, (*texts)[static_cast<size_t>(i) % texts->size()]);
        std::vector<std::string> snippets;
        while (st->Step()) snippets.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st->get(), 2)));
        st->Reset();
      };
    };
  } else if (name == "vector_search") {
    w.convstore = "search_vectors (10 nearest of 10,000, dimension 128, exact)";
    w.raw = "read every vector blob, cosine in C++, keep the 10 best";
    w.item = "hits";
    w.items_per_call = 10;
    w.open = [store, raw](Side side, int) -> Call {
      if (side == Side::kConvstore)
        return [store](int64_t i) {
          VectorSearchQuery q;
          q.space = "bench";
          q.vector = Vector(i + 77);
          q.k = 10;
          Check(store->SearchVectors(q), "search_vectors");
        };
      auto st = std::make_shared<RawStatement>(*raw, "SELECT message_id, vector FROM embeddings");
      return [st](int64_t i) {
        const std::vector<float> q = Vector(i + 77);
        double qn = 0;
        for (float f : q) qn += static_cast<double>(f) * f;
        std::vector<std::pair<double, int64_t>> best;  // (-similarity, id): the 10 best kept
        while (st->Step()) {
          const auto* v = static_cast<const float*>(sqlite3_column_blob(st->get(), 1));
          const int n = sqlite3_column_bytes(st->get(), 1) / static_cast<int>(sizeof(float));
          double dot = 0, vn = 0;
          for (int k = 0; k < n; ++k) {
            dot += static_cast<double>(v[k]) * q[static_cast<size_t>(k)];
            vn += static_cast<double>(v[k]) * v[k];
          }
          best.emplace_back(-dot / std::sqrt(qn * vn), sqlite3_column_int64(st->get(), 0));
          if (best.size() > 40) {
            std::nth_element(best.begin(), best.begin() + 10, best.end());
            best.resize(10);
          }
        }
        st->Reset();
        std::sort(best.begin(), best.end());
        best.resize(std::min<size_t>(best.size(), 10));
      };
    };
  } else {
    throw std::runtime_error("unknown workload '" + name + "'");
  }
  return w;
}

}  // namespace convstore::cli::bench
