// convstore search: full-text search of a store's messages (or conversation titles), vector search with a vector
// given on the command line, or both fused (hybrid), with filters; convstore search-index: the full-text index's
// status, catch-up, purge, rebuild, verify and tokenizer; convstore embeddings: the embedding spaces and their
// approximate indexes (docs/search.md).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "cli_support.h"
#include "commands.h"

namespace convstore::cli {

namespace {

struct SearchArgs {
  std::string store, text;
  bool query_syntax = false, titles = false, json = false;
  std::string user, team, conversation, role, model, from, to, metadata;
  int limit = 10;
  std::string space, vector;  // vector search: a JSON array of numbers, or @FILE holding one
  double text_weight = 1.0, vector_weight = 1.0;
  bool exact = false;  // vector search: never the approximate index
  int ef_search = 0;   // vector search: the index's candidate list (0: the index's own)
};

struct SpaceArgs {
  std::string store, action, name, metric = "cosine", target = "messages", quantization = "none";
  int dimension = 0;
  int m = 16, ef_construction = 200, ef_search = 64;  // index
  bool json = false;
};

struct IndexArgs {
  std::string store, action, tokenizer;
  bool json = false;
};

// A time as given: integer microseconds stay a number, anything else is ISO-8601 text for the library to parse.
nlohmann::json TimeValue(const std::string& t) {
  const nlohmann::json n = nlohmann::json::parse(t, nullptr, false);
  return n.is_number_integer() ? n : nlohmann::json(t);
}

// The vector of --vector: a JSON array of numbers, given inline or as @FILE. Exit code 2 (with a message) if not.
int ReadVector(const std::string& given, std::vector<float>& out) {
  std::string text = given;
  if (!given.empty() && given[0] == '@') {
    std::ifstream in(given.substr(1), std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "convstore search: cannot read the vector file '%s'\n", given.substr(1).c_str());
      return 2;
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const nlohmann::json v = nlohmann::json::parse(text, nullptr, false);
  if (!v.is_array() || v.empty()) {
    std::fprintf(stderr, "convstore search: --vector takes a JSON array of numbers (or @FILE holding one)\n");
    return 2;
  }
  for (const auto& x : v) {
    if (!x.is_number()) {
      std::fprintf(stderr, "convstore search: --vector holds something that is not a number\n");
      return 2;
    }
    out.push_back(x.get<float>());
  }
  return 0;
}

void PrintRow(const JsonView& v, double score, bool titles) {
  if (titles)
    std::printf("  %.4f  %s  %s  %s\n", score, v.Text("created_at").c_str(), v.Text("conversation_id").c_str(),
                v.Text("conversation_title").c_str());
  else
    std::printf("  %.4f  %s  %s  %-9s %s\n         in \"%s\" (%s), message %s\n", score, v.Text("created_at").c_str(),
                v.Text("user").c_str(), v.Text("role").c_str(), v.Text("content").substr(0, 80).c_str(),
                v.Text("conversation_title").c_str(), v.Text("conversation_id").c_str(), v.Text("message_id").c_str());
}

int RunSearch(const SearchArgs& a) {
  if (a.text.empty() && a.vector.empty()) {
    std::fprintf(stderr, "convstore search: give TEXT, --vector (with --space), or both\n");
    return 2;
  }
  if (a.vector.empty() != a.space.empty()) {
    std::fprintf(stderr, "convstore search: --vector and --space go together\n");
    return 2;
  }
  std::vector<float> vector;
  if (!a.vector.empty())
    if (int rc = ReadVector(a.vector, vector); rc != 0) return rc;
  nlohmann::json q = {{"text", a.text}, {"syntax", a.query_syntax ? "query" : "plain"},
                      {"target", a.titles ? "conversations" : "messages"}, {"limit", a.limit}};
  for (const auto& [key, value] : {std::pair{"user", &a.user}, {"team", &a.team}, {"conversation_id", &a.conversation},
                                   {"role", &a.role}, {"model", &a.model}})
    if (!value->empty()) q[key] = *value;
  if (!a.from.empty()) q["from"] = TimeValue(a.from);
  if (!a.to.empty()) q["to"] = TimeValue(a.to);
  if (!a.metadata.empty()) {
    const nlohmann::json doc = nlohmann::json::parse(a.metadata, nullptr, false);
    if (doc.is_discarded()) {
      std::fprintf(stderr, "convstore search: --metadata takes a JSON document, not '%s'\n", a.metadata.c_str());
      return 2;
    }
    q["metadata_contains"] = doc;
  }
  convstore_t* db = nullptr;
  if (OpenExisting(a.store, /*read_only=*/false, "search", &db) != 0) return 1;
  char* err = nullptr;
  char* out = nullptr;
  int rc;
  if (vector.empty()) {
    rc = convstore_search_text(db, q.dump().c_str(), &out, &err);
  } else if (a.text.empty()) {
    nlohmann::json v = q;
    v.erase("text");
    v.erase("syntax");
    v.erase("target");
    v.erase("limit");
    v["space"] = a.space;
    v["k"] = a.limit;
    if (a.exact) v["exact"] = true;
    if (a.ef_search != 0) v["ef_search"] = a.ef_search;
    rc = convstore_search_vectors(db, v.dump().c_str(), vector.data(), static_cast<int64_t>(vector.size()), &out,
                                  &err);
  } else {
    nlohmann::json text = q;
    text.erase("limit");
    const nlohmann::json h = {{"text", text},           {"space", a.space},
                              {"limit", a.limit},       {"candidates", std::max(a.limit, 100)},
                              {"text_weight", a.text_weight}, {"vector_weight", a.vector_weight}};
    rc = convstore_search_hybrid(db, h.dump().c_str(), vector.data(), static_cast<int64_t>(vector.size()), &out,
                                 &err);
  }
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("search", rc, err);
  if (!vector.empty()) {  // vector or hybrid hits: the row and its score
    if (a.json) {
      std::printf("%s\n", out);
    } else {
      const JsonView result(out);
      const auto& hits = result.json()["hits"];
      std::printf("%zu hit%s", hits.size(), hits.size() == 1 ? "" : "s");
      if (result.json().contains("plan")) std::printf(" (%s)", result.Text("plan").c_str());
      std::printf("\n");
      for (const auto& h : hits) PrintRow(JsonView(h), h.value("score", 0.0), a.titles);
    }
    convstore_free(out);
    return 0;
  }
  if (a.json) {
    std::printf("%s\n", out);
  } else {
    const JsonView result(out);
    const auto& hits = result.json()["hits"];
    std::printf("%zu hit%s\n", hits.size(), hits.size() == 1 ? "" : "s");
    for (const auto& h : hits) {
      const JsonView v(h);
      const double score = h.value("score", 0.0);
      if (a.titles)
        std::printf("  %.3f  %s  %s  %s\n", score, v.Text("created_at").c_str(), v.Text("conversation_id").c_str(),
                    v.Text("snippet").c_str());
      else
        std::printf("  %.3f  %s  %s  %-9s %s\n         in \"%s\" (%s), message %s\n", score,
                    v.Text("created_at").c_str(), v.Text("user").c_str(), v.Text("role").c_str(),
                    v.Text("snippet").c_str(), v.Text("conversation_title").c_str(),
                    v.Text("conversation_id").c_str(), v.Text("message_id").c_str());
    }
  }
  convstore_free(out);
  return 0;
}

void PrintStatus(const nlohmann::json& s) {
  std::printf("tokenizer %s; messages %lld indexed, %lld pending; conversations %lld indexed, %lld pending; "
              "%s; %lld bytes\n",
              s.value("tokenizer", "").c_str(), static_cast<long long>(s.value("messages_indexed", 0LL)),
              static_cast<long long>(s.value("messages_pending", 0LL)),
              static_cast<long long>(s.value("conversations_indexed", 0LL)),
              static_cast<long long>(s.value("conversations_pending", 0LL)),
              s.value("purge_pending", false) ? "a purge is pending" : "no purge pending",
              static_cast<long long>(s.value("index_bytes", 0LL)));
}

int RunIndex(const IndexArgs& a) {
  if (a.action == "tokenizer" && a.tokenizer.empty()) {
    std::fprintf(stderr, "convstore search-index tokenizer: give words, trigram or none\n");
    return 2;
  }
  convstore_t* db = nullptr;
  if (OpenExisting(a.store, /*read_only=*/a.action == "status", "search-index", &db) != 0) return 1;
  char* err = nullptr;
  char* out = nullptr;
  int rc = CONVSTORE_OK;
  if (a.action == "status") rc = convstore_search_status(db, &out, &err);
  else if (a.action == "catch-up") rc = convstore_catch_up_search_index(db, &out, &err);
  else if (a.action == "purge") rc = convstore_purge_search_index(db, &out, &err);
  else if (a.action == "rebuild") rc = convstore_rebuild_search_index(db, &out, &err);
  else if (a.action == "verify") rc = convstore_verify_search_index(db, &out, &err);
  else rc = convstore_set_text_tokenizer(db, a.tokenizer.c_str(), &out, &err);
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("search-index", rc, err);
  const JsonView result(out);
  if (a.json) std::printf("%s\n", out);
  convstore_free(out);
  if (a.action == "status") {
    if (!a.json) PrintStatus(result.json());
    return 0;
  }
  const bool ok = result.json().value("ok", true);
  if (!a.json) {
    std::printf("%s: %lld rows indexed, %lld purge steps\n", a.action.c_str(),
                static_cast<long long>(result.Int("rows_indexed")), static_cast<long long>(result.Int("purge_steps")));
    for (const auto& p : result.json()["problems"]) std::printf("  problem: %s\n", p.get<std::string>().c_str());
    PrintStatus(result.json()["status"]);
  }
  return ok ? 0 : 3;
}

int RunSpaces(const SpaceArgs& a) {
  if (a.action != "list" && a.name.empty()) {
    std::fprintf(stderr, "convstore embeddings %s: give the space's name\n", a.action.c_str());
    return 2;
  }
  convstore_t* db = nullptr;
  if (OpenExisting(a.store, /*read_only=*/a.action == "list", "embeddings", &db) != 0) return 1;
  char* err = nullptr;
  char* out = nullptr;
  int rc;
  if (a.action == "list") {
    rc = convstore_list_embedding_spaces(db, &out, &err);
  } else if (a.action == "drop") {
    rc = convstore_drop_embedding_space(db, a.name.c_str(), &err);
  } else if (a.action == "index") {
    const nlohmann::json spec = {{"kind", "hnsw"}, {"m", a.m}, {"ef_construction", a.ef_construction},
                                 {"ef_search", a.ef_search}};
    rc = convstore_create_vector_index(db, a.name.c_str(), spec.dump().c_str(), &out, &err);
  } else if (a.action == "drop-index") {
    int dropped = 0;
    rc = convstore_drop_vector_index(db, a.name.c_str(), &dropped, &err);
    if (rc == CONVSTORE_OK && !a.json)
      std::printf(dropped ? "dropped the index of %s\n" : "%s had no index\n", a.name.c_str());
    if (rc == CONVSTORE_OK && a.json) std::printf("{\"dropped\":%s}\n", dropped ? "true" : "false");
  } else {
    const nlohmann::json spec = {{"name", a.name},     {"dimension", a.dimension}, {"metric", a.metric},
                                 {"target", a.target}, {"quantization", a.quantization}};
    rc = convstore_create_embedding_space(db, spec.dump().c_str(), &out, &err);
  }
  convstore_close(db);
  if (rc != CONVSTORE_OK) return Failed("embeddings", rc, err);
  if (a.action == "drop") {
    if (!a.json) std::printf("dropped embedding space %s\n", a.name.c_str());
    return 0;
  }
  if (a.action == "drop-index") return 0;
  if (a.json) std::printf("%s\n", out);
  if (!a.json && a.action == "index") {
    const JsonView result(out);
    const nlohmann::json& r = result.json();
    std::printf("index of %s (hnsw, m %lld, ef_construction %lld, ef_search %lld): %lld vectors, built in %.1f s, "
                "%.1f MiB in memory\n",
                a.name.c_str(), static_cast<long long>(r["index"].value("m", 0LL)),
                static_cast<long long>(r["index"].value("ef_construction", 0LL)),
                static_cast<long long>(r["index"].value("ef_search", 0LL)), static_cast<long long>(result.Int("vectors")),
                r.value("build_seconds", 0.0), static_cast<double>(result.Int("memory_bytes")) / (1 << 20));
    if (r["recall_at_10"].is_number())
      std::printf("recall@10 against the exact search: %.3f over %lld of the space's vectors\n",
                  r["recall_at_10"].get<double>(), static_cast<long long>(result.Int("recall_queries")));
    std::printf("the setting is stored with the space; each process builds its own index in memory (at its first "
                "unfiltered search, or when it creates the index)\n");
  } else if (!a.json) {
    const JsonView result(out);
    const nlohmann::json spaces =
        a.action == "list" ? result.json()["spaces"] : nlohmann::json::array({result.json()});
    for (const auto& sp : spaces)
      std::printf("%-24s %-13s dim %-5lld %-6s %-5s %lld vectors%s\n", sp.value("name", "").c_str(),
                  sp.value("target", "").c_str(), static_cast<long long>(sp.value("dimension", 0LL)),
                  sp.value("metric", "").c_str(), sp.value("quantization", "").c_str(),
                  static_cast<long long>(sp.value("vectors", 0LL)),
                  sp.contains("index") && sp["index"].is_object() ? ", hnsw index" : "");
  }
  convstore_free(out);
  return 0;
}

}  // namespace

void AddSearchCommands(CLI::App& app, std::function<int()>& run) {
  auto s = std::make_shared<SearchArgs>();
  CLI::App* cmd = app.add_subcommand("search", "Full-text search of messages (or conversation titles), best first");
  cmd->add_option("store", s->store, "the convstore file")->required()->check(CLI::ExistingFile);
  cmd->add_option("text", s->text, "what to find: every word must appear (with --query: FTS5's syntax)");
  cmd->add_option("--space", s->space, "vector search in this embedding space (with --vector)");
  cmd->add_option("--vector", s->vector, "the query vector: a JSON array of numbers, or @FILE holding one; "
                                         "with TEXT too, full text and vectors are fused (hybrid)");
  cmd->add_option("--text-weight", s->text_weight, "hybrid: the full-text list's weight (default 1)");
  cmd->add_option("--vector-weight", s->vector_weight, "hybrid: the vector list's weight (default 1)");
  cmd->add_flag("--query", s->query_syntax, "read the text as an FTS5 query: \"phrase\", prefix*, AND/OR/NOT, NEAR()");
  cmd->add_flag("--titles", s->titles, "search conversation titles instead of messages");
  cmd->add_option("--user", s->user, "only this user's conversations");
  cmd->add_option("--team", s->team, "only messages attributed to this team");
  cmd->add_option("--conversation", s->conversation, "only this conversation");
  cmd->add_option("--role", s->role, "only messages of this role (user, assistant, system, tool)");
  cmd->add_option("--model", s->model, "only this model");
  cmd->add_option("--from", s->from, "created at or after (ISO-8601 with an offset, or µs)");
  cmd->add_option("--to", s->to, "created before (ISO-8601 with an offset, or µs)");
  cmd->add_option("--metadata", s->metadata, "only rows whose metadata contains this JSON document");
  cmd->add_option("--limit", s->limit, "at most this many hits (1-1000, default 10)");
  cmd->add_flag("--exact", s->exact, "vector search: exact even when the space has an approximate index");
  cmd->add_option("--ef-search", s->ef_search, "vector search: the approximate index's candidate list (1-10000)");
  cmd->add_flag("--json", s->json, "print the C API's JSON");
  cmd->callback([s, &run]() { run = [s]() { return RunSearch(*s); }; });

  auto i = std::make_shared<IndexArgs>();
  CLI::App* idx = app.add_subcommand(
      "search-index", "The full-text index: status, catch-up, purge, rebuild, verify (exit 3 on problems), tokenizer");
  idx->add_option("store", i->store, "the convstore file")->required()->check(CLI::ExistingFile);
  idx->add_option("action", i->action, "status, catch-up, purge, rebuild, verify or tokenizer")
      ->required()
      ->check(CLI::IsMember({"status", "catch-up", "purge", "rebuild", "verify", "tokenizer"}));
  idx->add_option("tokenizer", i->tokenizer, "with `tokenizer`: words, trigram or none");
  idx->add_flag("--json", i->json, "print the C API's JSON");
  idx->callback([i, &run]() { run = [i]() { return RunIndex(*i); }; });

  auto e = std::make_shared<SpaceArgs>();
  CLI::App* sp = app.add_subcommand(
      "embeddings", "The embedding spaces: list, create, drop; index (approximate, HNSW: build and report recall), "
                    "drop-index");
  sp->add_option("store", e->store, "the convstore file")->required()->check(CLI::ExistingFile);
  sp->add_option("action", e->action, "list, create, drop, index or drop-index")
      ->required()
      ->check(CLI::IsMember({"list", "create", "drop", "index", "drop-index"}));
  sp->add_option("name", e->name, "with create, drop, index and drop-index: the space's name");
  sp->add_option("--dimension", e->dimension, "create: floats per vector (1-4096)");
  sp->add_option("--metric", e->metric, "create: cosine (default), dot or l2");
  sp->add_option("--target", e->target, "create: messages (default) or conversations");
  sp->add_option("--quantization", e->quantization, "create: none (default) or int8");
  sp->add_option("--m", e->m, "index: links per node (2-100, default 16)");
  sp->add_option("--ef-construction", e->ef_construction, "index: candidate list while building (default 200)");
  sp->add_option("--ef-search", e->ef_search, "index: candidate list while searching (default 64)");
  sp->add_flag("--json", e->json, "print the C API's JSON");
  sp->callback([e, &run]() { run = [e]() { return RunSpaces(*e); }; });
}

}  // namespace convstore::cli
