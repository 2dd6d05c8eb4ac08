// Full-text search: results equal a plain FTS5 table's (bm25, ties by newest row first) with and without filters;
// the tail, edits, deletes, retention and erasure keep the index exact and leave no token in the file; tokenizers,
// verify and rebuild, the migration's backfill, bad input.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace convstore {
namespace {

using testing::OpenOrDie;
using testing::TempDb;

// One row of the corpus as the reference sees it.
struct Row {
  std::string id;  // message id
  std::string content;
  std::string user, team, conversation, role, model;
  Micros created_at = 0;
};

// A plain in-memory FTS5 table of the same rows, in insertion order (rowid = position + 1, so "newest first" is
// rowid descending), plus their attributes for filters.
class Reference {
 public:
  explicit Reference(const std::vector<Row>& rows) : rows_(rows) {
    sqlite3_open(":memory:", &db_);
    Exec("CREATE VIRTUAL TABLE ref USING fts5(content, tokenize='unicode61 remove_diacritics 2')");
    for (size_t i = 0; i < rows.size(); ++i) {
      sqlite3_stmt* st = nullptr;
      sqlite3_prepare_v2(db_, "INSERT INTO ref(rowid, content) VALUES (?1, ?2)", -1, &st, nullptr);
      sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(i + 1));
      sqlite3_bind_text(st, 2, rows[i].content.c_str(), -1, SQLITE_TRANSIENT);
      EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
      sqlite3_finalize(st);
    }
  }
  ~Reference() { sqlite3_close(db_); }

  // The top `limit` rows matching `match` among those `keep` accepts, with their bm25.
  std::vector<std::pair<std::string, double>> Top(const std::string& match, int limit,
                                                  const std::function<bool(const Row&)>& keep) {
    std::vector<std::pair<std::string, double>> out;
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, "SELECT rowid, bm25(ref) AS r FROM ref WHERE ref MATCH ?1 ORDER BY r, rowid DESC",
                                 -1, &st, nullptr),
              SQLITE_OK);
    sqlite3_bind_text(st, 1, match.c_str(), -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW && static_cast<int>(out.size()) < limit) {
      const Row& row = rows_[static_cast<size_t>(sqlite3_column_int64(st, 0) - 1)];
      if (keep(row)) out.emplace_back(row.id, -sqlite3_column_double(st, 1));
    }
    sqlite3_finalize(st);
    return out;
  }

 private:
  void Exec(const char* sql) { ASSERT_EQ(sqlite3_exec(db_, sql, nullptr, nullptr, nullptr), SQLITE_OK); }
  const std::vector<Row>& rows_;
  sqlite3* db_ = nullptr;
};

std::vector<std::pair<std::string, double>> Hits(const TextSearchResult& r) {
  std::vector<std::pair<std::string, double>> out;
  for (const TextSearchHit& h : r.hits) out.emplace_back(h.message_id, h.score);
  return out;
}

void ExpectSameHits(const std::vector<std::pair<std::string, double>>& got,
                    const std::vector<std::pair<std::string, double>>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first) << what << " at " << i;
    EXPECT_NEAR(got[i].second, want[i].second, 1e-9 * std::max(1.0, std::abs(want[i].second))) << what << " at " << i;
  }
}

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) throw std::runtime_error(r.status().ToString());
  return std::move(*r);
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A store of `n` messages over three users (two teams), six conversations, four roles and two models, with words
// from a small vocabulary (so terms repeat and ranks tie) and a few accented ones.
struct Corpus {
  std::vector<Row> rows;
  std::map<std::string, std::string> conversation_of_user;
};

Corpus Fill(ConversationStore& store, int n) {
  Corpus c;
  Must(store.UpsertTeam({.key = "netops", .name = "Network"}));
  Must(store.UpsertTeam({.key = "ml", .name = "ML"}));
  const std::vector<std::pair<std::string, std::string>> users = {{"ana", "netops"}, {"bo", "netops"}, {"cy", "ml"}};
  for (const auto& [user, team] : users) Must(store.UpsertUser({.key = user, .team_key = team}));
  std::vector<std::pair<std::string, std::string>> conversations;  // id, user
  for (int i = 0; i < 6; ++i) {
    const std::string& user = users[static_cast<size_t>(i % 3)].first;
    auto conv = store.CreateConversation({.user_key = user, .title = "conversation " + std::to_string(i)});
    if (!conv.ok()) throw std::runtime_error(conv.status().ToString());
    conversations.emplace_back(conv->id, user);
  }
  const std::vector<std::string> words = {"bgp", "flap", "route", "peer", "timeout", "café", "latency", "packet",
                                          "loss", "ospf", "vlan", "switch", "router", "alert", "kernel", "disk"};
  const char* roles[] = {"user", "assistant", "tool", "system"};
  const char* models[] = {"gpt-4o", "claude-3"};
  std::mt19937 rng(7);
  for (int i = 0; i < n; ++i) {
    const auto& [conversation, user] = conversations[rng() % conversations.size()];
    std::string text;
    const int len = 3 + static_cast<int>(rng() % 12);
    for (int w = 0; w < len; ++w) text += (w ? " " : "") + words[rng() % words.size()];
    NewMessage m;
    m.role = *ParseRole(roles[rng() % 4]);
    m.content = text;
    m.model = models[rng() % 2];
    m.metadata_json = std::string("{\"n\":") + std::to_string(i % 5) + "}";
    auto added = store.AddMessage(conversation, m);
    if (!added.ok()) throw std::runtime_error(added.status().ToString());
    Row r;
    r.id = added->id;
    r.content = text;
    r.user = user;
    r.team = user == "cy" ? "ml" : "netops";
    r.conversation = conversation;
    r.role = RoleName(m.role);
    r.model = m.model;
    r.created_at = added->created_at;
    c.rows.push_back(r);
  }
  return c;
}

TEST(TextSearch, EqualsPlainFts5WithAndWithoutFilters) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  Corpus corpus = Fill(*store, 600);
  Reference ref(corpus.rows);
  const std::vector<std::pair<std::string, TextSyntax>> queries = {
      {"bgp", TextSyntax::kPlain},           {"bgp flap", TextSyntax::kPlain},
      {"CAFE", TextSyntax::kPlain},          {"\"route peer\"", TextSyntax::kQuery},
      {"rout*", TextSyntax::kQuery},         {"bgp OR ospf", TextSyntax::kQuery},
      {"disk NOT kernel", TextSyntax::kQuery}, {"NEAR(bgp timeout, 2)", TextSyntax::kQuery},
      {"(vlan OR switch) AND alert", TextSyntax::kQuery}};
  const std::string& a_conversation = corpus.rows.front().conversation;
  struct Case {
    const char* name;
    SearchFilter filter;
    std::function<bool(const Row&)> keep;
  };
  const Micros mid = corpus.rows[300].created_at;
  std::vector<Case> cases = {
      {"none", {}, [](const Row&) { return true; }},
      {"user", {.user_key = "ana"}, [](const Row& r) { return r.user == "ana"; }},
      {"team", {.team_key = "ml"}, [](const Row& r) { return r.team == "ml"; }},
      {"conversation", {.conversation_id = a_conversation}, [&](const Row& r) { return r.conversation == a_conversation; }},
      {"role", {.role = "assistant"}, [](const Row& r) { return r.role == "assistant"; }},
      {"model", {.model = "claude-3"}, [](const Row& r) { return r.model == "claude-3"; }},
      {"time", {.from = mid}, [&](const Row& r) { return r.created_at >= mid; }},
      {"user+role+time", {.user_key = "bo", .role = "user", .to = mid},
       [&](const Row& r) { return r.user == "bo" && r.role == "user" && r.created_at < mid; }},
      {"metadata", {.metadata_contains_json = R"({"n":3})"},
       [&](const Row& r) { return (&r - corpus.rows.data()) % 5 == 3; }},
  };
  for (const auto& [text, syntax] : queries) {
    // The reference query: what the plain syntax means (each word a phrase) or the query itself.
    std::string match = text;
    if (syntax == TextSyntax::kPlain) {
      match.clear();
      std::istringstream words(text);
      for (std::string w; words >> w;) match += (match.empty() ? "\"" : " \"") + w + "\"";
    }
    for (const Case& c : cases) {
      for (int limit : {1, 7, 1000}) {
        TextSearchQuery q{.text = text, .syntax = syntax, .filter = c.filter, .limit = limit};
        auto got = store->SearchText(q);
        ASSERT_OK(got);
        EXPECT_EQ(got->unindexed, 0);
        ExpectSameHits(Hits(*got), ref.Top(match, limit, c.keep), text + " / " + c.name + " / " + std::to_string(limit));
      }
    }
  }
}

TEST(TextSearch, HitsCarryTheirRowAndASnippet) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  ASSERT_OK(store->UpsertTeam({.key = "netops", .name = "Network"}));
  ASSERT_OK(store->UpsertUser({.key = "ana", .team_key = "netops"}));
  auto conv = store->CreateConversation({.user_key = "ana", .title = "BGP flaps in Frankfurt"});
  ASSERT_OK(conv);
  auto m = store->AddMessage(conv->id, {.role = Role::kAssistant,
                                        .content = "The BGP session to the peer flapped after a hold timer expiry.",
                                        .model = "gpt-4o"});
  ASSERT_OK(m);
  auto r = store->SearchText({.text = "hold timer", .highlight_start = "<b>", .highlight_end = "</b>"});
  ASSERT_OK(r);
  ASSERT_EQ(r->hits.size(), 1u);
  const TextSearchHit& h = r->hits[0];
  EXPECT_EQ(h.message_id, m->id);
  EXPECT_EQ(h.conversation_id, conv->id);
  EXPECT_EQ(h.conversation_title, "BGP flaps in Frankfurt");
  EXPECT_EQ(h.user_key, "ana");
  EXPECT_EQ(h.role, "assistant");
  EXPECT_EQ(h.model, "gpt-4o");
  EXPECT_EQ(h.content, m->content);
  EXPECT_NE(h.snippet.find("<b>hold</b> <b>timer</b>"), std::string::npos) << h.snippet;
  EXPECT_GT(h.score, 0);
  EXPECT_EQ(h.created_at, m->created_at);

  // Titles.
  auto t = store->SearchText({.text = "frankfurt", .target = TextSearchTarget::kConversations});
  ASSERT_OK(t);
  ASSERT_EQ(t->hits.size(), 1u);
  EXPECT_EQ(t->hits[0].message_id, "");
  EXPECT_EQ(t->hits[0].conversation_id, conv->id);
  EXPECT_EQ(t->hits[0].snippet, "BGP flaps in [Frankfurt]");
  // A new title replaces the old one in the index at once.
  ASSERT_OK(store->UpdateConversation(conv->id, {.title = "OSPF adjacency"}));
  auto old_title = store->SearchText({.text = "frankfurt", .target = TextSearchTarget::kConversations});
  ASSERT_OK(old_title);
  EXPECT_TRUE(old_title->hits.empty());
  auto new_title = store->SearchText({.text = "adjacency", .target = TextSearchTarget::kConversations,
                                      .filter = {.user_key = "ana", .team_key = "netops"}});
  ASSERT_OK(new_title);
  EXPECT_EQ(new_title->hits.size(), 1u);
}

TEST(TextSearch, PlainTextNeverFailsAndUnknownKeysFindNothing) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  std::string conv = testing::AddMessages(*store, 3, "C++ templates (and \"quotes\") NOT a problem");
  for (const char* text : {"C++", "(and", "\"quotes\")", "NOT", "a) OR scope : \"<u1>", "*", "^", "NEAR(", "-x", "{content}:"}) {
    auto r = store->SearchText({.text = text});
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  }
  auto quoted = store->SearchText({.text = "\"quotes\")"});
  ASSERT_OK(quoted);
  EXPECT_EQ(quoted->hits.size(), 3u);
  auto none = store->SearchText({.text = "!!! ???"});  // no word: nothing
  ASSERT_OK(none);
  EXPECT_TRUE(none->hits.empty());
  for (SearchFilter f : {SearchFilter{.user_key = "nobody"}, SearchFilter{.team_key = "nowhere"},
                         SearchFilter{.conversation_id = "no-such-conversation"}}) {
    auto r = store->SearchText({.text = "templates", .filter = f});
    ASSERT_OK(r);
    EXPECT_TRUE(r->hits.empty());
  }
}

TEST(TextSearch, BadInputIsRefused) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  testing::AddMessages(*store, 2, "alpha beta");
  auto before = store->GetSearchStatus();
  ASSERT_OK(before);
  const std::vector<std::pair<TextSearchQuery, Code>> bad = {
      {{.text = ""}, Code::kInvalidArgument},
      {{.text = std::string(5000, 'a')}, Code::kTooLarge},
      {{.text = std::string("a\0b", 3)}, Code::kInvalidArgument},
      {{.text = "\xff"}, Code::kInvalidArgument},
      {{.text = "alpha AND", .syntax = TextSyntax::kQuery}, Code::kInvalidArgument},
      {{.text = "alpha)", .syntax = TextSyntax::kQuery}, Code::kInvalidArgument},
      {{.text = "(alpha", .syntax = TextSyntax::kQuery}, Code::kInvalidArgument},
      {{.text = "\"alpha", .syntax = TextSyntax::kQuery}, Code::kInvalidArgument},
      {{.text = "alpha!", .syntax = TextSyntax::kQuery}, Code::kInvalidArgument},
      {{.text = "nosuchcolumn : alpha", .syntax = TextSyntax::kQuery}, Code::kInvalidArgument},
      {{.text = "a", .syntax = static_cast<TextSyntax>(7)}, Code::kInvalidArgument},
      {{.text = "a", .target = static_cast<TextSearchTarget>(7)}, Code::kInvalidArgument},
      {{.text = "a", .limit = 0}, Code::kInvalidArgument},
      {{.text = "a", .limit = 1001}, Code::kInvalidArgument},
      {{.text = "a", .snippet_tokens = 0}, Code::kInvalidArgument},
      {{.text = "a", .snippet_tokens = 65}, Code::kInvalidArgument},
      {{.text = "a", .highlight_start = std::string(33, '<')}, Code::kTooLarge},
      {{.text = "a", .ellipsis = "\xc3"}, Code::kInvalidArgument},
      {{.text = "a", .filter = {.role = "robot"}}, Code::kInvalidArgument},
      {{.text = "a", .target = TextSearchTarget::kConversations, .filter = {.role = "user"}}, Code::kInvalidArgument},
      {{.text = "a", .filter = {.user_key = std::string(300, 'u')}}, Code::kTooLarge},
      {{.text = "a", .filter = {.from = 5}}, Code::kInvalidArgument},
      {{.text = "a", .filter = {.from = 1'800'000'000'000'000, .to = 1'700'000'000'000'000}}, Code::kInvalidArgument},
      {{.text = "a", .filter = {.metadata_contains_json = "{"}}, Code::kInvalidArgument},
      {{.text = "a", .filter = {.metadata_where_json = R"({"x":{"$bogus":1}})"}}, Code::kInvalidArgument},
  };
  for (const auto& [q, code] : bad) {
    auto r = store->SearchText(q);
    ASSERT_FALSE(r.ok()) << q.text;
    EXPECT_EQ(r.status().code(), code) << q.text << ": " << r.status().ToString();
    EXPECT_FALSE(r.status().message().empty());
  }
  auto bad_tokenizer = store->SetTextTokenizer(static_cast<TextTokenizer>(9));
  EXPECT_EQ(bad_tokenizer.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseTextTokenizer("porter").status().code(), Code::kInvalidArgument);
  auto after = store->GetSearchStatus();
  ASSERT_OK(after);
  EXPECT_EQ(after->tokenizer, TextTokenizer::kWords);
  EXPECT_EQ(after->messages_indexed, before->messages_indexed + before->messages_pending);
}

TEST(TextSearch, TheTailIsSearchedAfterCatchingUpOrReported) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  std::string conv = testing::AddMessages(*store, 1, "first words");
  // Written many at once: the tail is at least as long as the batch until the indexer or a search takes it.
  std::vector<NewMessage> batch(50, NewMessage{.role = Role::kUser, .content = "zebra crossing"});
  ASSERT_OK(store->AddMessages(conv, batch));
  auto quick = store->SearchText({.text = "zebra", .limit = 100, .wait_for_index = false});
  ASSERT_OK(quick);
  EXPECT_LE(quick->hits.size(), 50u);  // what the background indexer has taken so far
  EXPECT_GE(static_cast<int64_t>(quick->hits.size()) + quick->unindexed, 50);
  auto exact = store->SearchText({.text = "zebra", .limit = 100});
  ASSERT_OK(exact);
  EXPECT_EQ(exact->hits.size(), 50u);
  EXPECT_EQ(exact->unindexed, 0);
  auto status = store->GetSearchStatus();
  ASSERT_OK(status);
  EXPECT_EQ(status->messages_indexed, 51);
  EXPECT_EQ(status->messages_pending, 0);
  EXPECT_GT(status->index_bytes, 0);

  // A read-only handle cannot index: it reports what it could not search.
  ASSERT_OK(store->AddMessage(conv, {.role = Role::kUser, .content = "zebra again"}));
  Options ro;
  ro.read_only = true;
  auto reader = ConversationStore::Open(db.path(), ro);
  ASSERT_OK(reader);
  auto r = (*reader)->SearchText({.text = "zebra", .limit = 100});
  ASSERT_OK(r);
  EXPECT_LE(r->hits.size(), 51u);
  EXPECT_GE(static_cast<int64_t>(r->hits.size()) + r->unindexed, 51);
}

// The background indexer indexes the tail and purges removed text with no call asking it to; turned off, it does
// neither.
TEST(TextSearch, TheBackgroundIndexerIndexesAndPurges) {
  TempDb db;
  Options off;
  off.background_indexing = false;
  auto store = OpenOrDie(db.path(), off);
  std::string conv = testing::AddMessages(*store, 20, "background words");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // three of the indexer's intervals, were it on
  auto status = store->GetSearchStatus();
  ASSERT_OK(status);
  EXPECT_EQ(status->messages_pending, 20);

  ASSERT_OK(store->SetBackgroundIndexing(true));
  auto wait_until = [&](auto done) {
    for (int i = 0; i < 600 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return done();
  };
  EXPECT_TRUE(wait_until([&] {
    auto now = store->GetSearchStatus();
    return now.ok() && now->messages_pending == 0;
  }));
  auto last = store->GetLastMessages(conv, 5);
  ASSERT_OK(last);
  for (const Message& m : *last) ASSERT_OK(store->DeleteMessage(m.id));
  EXPECT_TRUE(wait_until([&] {
    auto now = store->GetSearchStatus();
    return now.ok() && !now->purge_pending;
  }));
  auto found = store->SearchText({.text = "background", .limit = 100, .wait_for_index = false});
  ASSERT_OK(found);
  EXPECT_EQ(found->hits.size(), 15u);
  EXPECT_EQ(found->unindexed, 0);

  Options ro;
  ro.read_only = true;
  auto reader = ConversationStore::Open(db.path(), ro);
  ASSERT_OK(reader);
  EXPECT_CODE((*reader)->SetBackgroundIndexing(true), Code::kReadOnly);
}

// Rows with the marker, removed in each way convstore removes text; the file must not hold it afterwards.
class TextRemoval : public ::testing::Test {
 protected:
  void SetUp() override {
    Options o;
    o.background_indexing = false;  // each removal path must purge by itself
    store_ = OpenOrDie(db_.path(), o);
    ASSERT_OK(store_->SetJournalEnabled(false));  // the journal keeps history by design; erasure covers it
    conv_ = testing::AddMessages(*store_, 200, "ordinary filler text about routers");
  }
  // Adds `n` marked messages to `conversation` and makes sure they are indexed.
  std::vector<std::string> AddMarked(const std::string& conversation, int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      auto m = store_->AddMessage(conversation, {.role = Role::kUser, .content = std::string(kMarker) + " secret"});
      EXPECT_TRUE(m.ok());
      ids.push_back(m->id);
    }
    EXPECT_TRUE(store_->CatchUpSearchIndex().ok());
    auto found = store_->SearchText({.text = kMarker, .limit = 1000});
    EXPECT_TRUE(found.ok());
    EXPECT_EQ(found->hits.size(), static_cast<size_t>(n));
    return ids;
  }
  // After the store closes (its WAL checkpointed away), the file holds no byte of the marker.
  void ExpectGone() {
    auto found = store_->SearchText({.text = kMarker});
    ASSERT_OK(found);
    EXPECT_TRUE(found->hits.empty());
    auto status = store_->GetSearchStatus();
    ASSERT_OK(status);
    EXPECT_FALSE(status->purge_pending);
    auto verified = store_->VerifySearchIndex();
    ASSERT_OK(verified);
    EXPECT_TRUE(verified->ok) << (verified->problems.empty() ? "" : verified->problems.front());
    ASSERT_OK(store_->Close());
    const std::string bytes = FileBytes(db_.path()) + FileBytes(db_.path() + "-wal");
    EXPECT_EQ(bytes.find(kMarker), std::string::npos);
    // Nor any prefix long enough to be one of its index terms' stored forms.
    EXPECT_EQ(bytes.find("qzxmarker"), std::string::npos);
  }
  static constexpr const char* kMarker = "qzxmarkerword";
  TempDb db_;
  std::unique_ptr<ConversationStore> store_;
  std::string conv_;
};

TEST_F(TextRemoval, DeleteAndPurge) {
  auto ids = AddMarked(conv_, 3);
  for (const std::string& id : ids) ASSERT_OK(store_->DeleteMessage(id));
  auto status = store_->GetSearchStatus();
  ASSERT_OK(status);
  EXPECT_TRUE(status->purge_pending);
  auto purged = store_->PurgeSearchIndex();
  ASSERT_OK(purged);
  EXPECT_GE(purged->purge_steps, 1);
  ExpectGone();
}

TEST_F(TextRemoval, EditReplacesTheText) {
  auto ids = AddMarked(conv_, 1);
  ASSERT_OK(store_->EditMessage(ids[0], {.content = std::string("replacement words")}));
  auto found = store_->SearchText({.text = "replacement"});
  ASSERT_OK(found);
  EXPECT_EQ(found->hits.size(), 1u);
  ASSERT_OK(store_->PurgeSearchIndex());
  ExpectGone();
}

TEST_F(TextRemoval, ClearAndDeleteConversation) {
  auto other = store_->CreateConversation({.user_key = "bo", .title = std::string(kMarker)});
  ASSERT_OK(other);
  AddMarked(other->id, 5);
  ASSERT_OK(store_->ClearMessages(other->id));
  auto titles = store_->SearchText({.text = kMarker, .target = TextSearchTarget::kConversations});
  ASSERT_OK(titles);
  EXPECT_EQ(titles->hits.size(), 1u);
  ASSERT_OK(store_->DeleteConversation(other->id));
  ASSERT_OK(store_->PurgeSearchIndex());
  ExpectGone();
}

TEST_F(TextRemoval, RetentionPurgesInItsRun) {
  auto old = store_->CreateConversation({.user_key = "bo", .title = "old one"});
  ASSERT_OK(old);
  AddMarked(old->id, 4);
  RetentionOptions o;
  o.policy = RetentionPolicy{.conversations_idle_us = 1'000'000};
  o.batch_rows = 2;
  // Every conversation is idle a second from now: make "now" later by waiting past the horizon.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto run = store_->ApplyRetention(o);
  ASSERT_OK(run);
  EXPECT_GE(run->messages, 4);
  ExpectGone();
}

TEST_F(TextRemoval, ErasurePurgesBeforeItFinishes) {
  auto theirs = store_->CreateConversation({.user_key = "eve", .title = "eve's"});
  ASSERT_OK(theirs);
  AddMarked(theirs->id, 6);
  auto erased = store_->EraseUser("eve");
  ASSERT_OK(erased);
  EXPECT_TRUE(erased->pending.empty());
  ExpectGone();
}

TEST(TextSearch, AReusedRowIdIsIndexedAtOnce) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  std::string conv = testing::AddMessages(*store, 3, "steady words");
  auto last = store->AddMessage(conv, {.role = Role::kUser, .content = "vanishing sentence"});
  ASSERT_OK(last);
  ASSERT_OK(store->CatchUpSearchIndex());
  ASSERT_OK(store->DeleteMessage(last->id));
  // Messages take ids above the cost watermark (cost/pending.h), which the delete moved past the freed id; a file
  // whose watermark is at the newest message (as migration 13 leaves it) gives the next row the id just freed, at
  // or below the text index's watermark.
  testing::ExecOnFile(db.path(), "UPDATE cost_fold SET messages_through = (SELECT max(id) FROM messages)");
  auto next = store->AddMessage(conv, {.role = Role::kUser, .content = "replacement sentence"});
  ASSERT_OK(next);
  auto r = store->SearchText({.text = "sentence", .wait_for_index = false});
  ASSERT_OK(r);
  ASSERT_EQ(r->hits.size(), 1u);
  EXPECT_EQ(r->hits[0].message_id, next->id);
  auto verified = store->VerifySearchIndex();
  ASSERT_OK(verified);
  EXPECT_TRUE(verified->ok);
}

TEST(TextSearch, TrigramFindsSubstringsInAnyScript) {
  TempDb db;
  auto store = OpenOrDie(db.path());
  std::string conv = testing::AddMessages(*store, 2, "東京タワーの夜景 and substring matching");
  auto words = store->SearchText({.text = "tring"});
  ASSERT_OK(words);
  EXPECT_TRUE(words->hits.empty());  // words match whole words only
  auto set = store->SetTextTokenizer(TextTokenizer::kTrigram);
  ASSERT_OK(set);
  EXPECT_EQ(set->rows_indexed, 3);  // two messages and the title
  EXPECT_EQ(set->status.tokenizer, TextTokenizer::kTrigram);
  for (const char* text : {"tring", "京タワ"}) {
    auto r = store->SearchText({.text = text, .filter = {.user_key = "ana"}});
    ASSERT_OK(r);
    EXPECT_EQ(r->hits.size(), 2u) << text;
  }
  auto verified = store->VerifySearchIndex();
  ASSERT_OK(verified);
  EXPECT_TRUE(verified->ok);
  // None: no index, and a search says so.
  ASSERT_OK(store->SetTextTokenizer(TextTokenizer::kNone));
  auto off = store->SearchText({.text = "tring"});
  EXPECT_EQ(off.status().code(), Code::kInvalidArgument);
  ASSERT_OK(store->AddMessage(conv, {.role = Role::kUser, .content = "while off"}));
  auto back = store->SetTextTokenizer(TextTokenizer::kWords);
  ASSERT_OK(back);
  EXPECT_EQ(back->rows_indexed, 4);
  auto r = store->SearchText({.text = "off"});
  ASSERT_OK(r);
  EXPECT_EQ(r->hits.size(), 1u);
  // The tokenizer is the file's: a new handle keeps it.
  ASSERT_OK(store->SetTextTokenizer(TextTokenizer::kTrigram));
  store.reset();
  auto again = OpenOrDie(db.path());
  auto status = again->GetSearchStatus();
  ASSERT_OK(status);
  EXPECT_EQ(status->tokenizer, TextTokenizer::kTrigram);
}

TEST(TextSearch, VerifyFindsAForeignEditAndRebuildRepairsIt) {
  TempDb db;
  std::string conv;
  {
    auto store = OpenOrDie(db.path());
    conv = testing::AddMessages(*store, 5, "original words");
    ASSERT_OK(store->CatchUpSearchIndex());
  }
  testing::ExecOnFile(db.path(), "UPDATE messages SET content = 'changed behind its back' WHERE id = 2");
  auto store = OpenOrDie(db.path());
  auto verified = store->VerifySearchIndex();
  ASSERT_OK(verified);
  EXPECT_FALSE(verified->ok);
  ASSERT_FALSE(verified->problems.empty());
  auto rebuilt = store->RebuildSearchIndex();
  ASSERT_OK(rebuilt);
  EXPECT_EQ(rebuilt->rows_indexed, 6);
  verified = store->VerifySearchIndex();
  ASSERT_OK(verified);
  EXPECT_TRUE(verified->ok);
  auto r = store->SearchText({.text = "behind"});
  ASSERT_OK(r);
  EXPECT_EQ(r->hits.size(), 1u);
}

TEST(TextSearch, MigrationBackfillsAnOlderFile) {
  TempDb db;
  {
    auto store = OpenOrDie(db.path());
    testing::AddMessages(*store, 20, "backfilled message text");
  }
  testing::ExecOnFile(db.path(), testing::DowngradeSchemaSql(10));
  std::vector<Progress> seen;
  Options o;
  o.backup_before_migration = false;
  o.on_progress = [&](const Progress& p) { seen.push_back(p); };
  auto store = OpenOrDie(db.path(), o);
  const bool reported = std::any_of(seen.begin(), seen.end(), [](const Progress& p) {
    return p.operation.find("full-text") != std::string::npos && p.total == 21 && p.done == 21;
  });
  EXPECT_TRUE(reported);
  auto r = store->SearchText({.text = "backfilled", .limit = 100, .wait_for_index = false});
  ASSERT_OK(r);
  EXPECT_EQ(r->hits.size(), 20u);
  EXPECT_EQ(r->unindexed, 0);
}

}  // namespace
}  // namespace convstore
