#include "search/text_index.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <array>
#include <string>

#include "util/status_macros.h"

namespace convstore::search {

namespace {

constexpr const char* kTokenizerKey = "text_tokenizer";

// The statements of one FTS5 table, built once (the connection's statement cache is keyed by the text's address,
// so they live as long as the process).
struct TableSql {
  std::string insert_range;  // ?1 < id <= ?2
  std::string insert_one;    // id = ?1
  std::string delete_one;    // id = ?1
  std::string delete_conversation_messages;  // conversation ?1, id <= ?2 (messages only)
  std::string merge;
  std::string delete_all;
  std::string integrity;
  std::string count;
};

TableSql MakeSql(const char* table, const char* source, const char* rows) {
  TableSql s;
  s.insert_range = fmt::format(
      "INSERT INTO {0}(rowid, content, scope) SELECT id, content, scope FROM {1} WHERE id > ?1 AND id <= ?2", table,
      source);
  s.insert_one = fmt::format("INSERT INTO {0}(rowid, content, scope) SELECT id, content, scope FROM {1} WHERE id = ?1",
                             table, source);
  s.delete_one = fmt::format(
      "INSERT INTO {0}({0}, rowid, content, scope) SELECT 'delete', id, content, scope FROM {1} WHERE id = ?1", table,
      source);
  s.delete_conversation_messages = fmt::format(
      "INSERT INTO {0}({0}, rowid, content, scope) SELECT 'delete', id, content, scope FROM {1}"
      " WHERE id IN (SELECT id FROM {2} WHERE conversation_id = ?1 AND id <= ?2)",
      table, source, rows);
  s.merge = fmt::format("INSERT INTO {0}({0}, rank) VALUES ('merge', -{1})", table, kPurgeStepPages);
  s.delete_all = fmt::format("INSERT INTO {0}({0}) VALUES ('delete-all')", table);
  s.integrity = fmt::format("INSERT INTO {0}({0}, rank) VALUES ('integrity-check', 1)", table);
  s.count = fmt::format("SELECT count(*) FROM {0}_docsize", table);
  return s;
}

int Index(TextSearchTarget target) { return target == TextSearchTarget::kMessages ? 1 : 0; }
const char* RowsOf(TextSearchTarget target) {
  return target == TextSearchTarget::kMessages ? "messages" : "conversations";
}

const TableSql& IndexSqlOf(TextSearchTarget target, TextTokenizer tokenizer) {
  static const std::array<std::array<TableSql, 2>, 2> kSql = {{
      {MakeSql("conversation_words", "conversation_text_source", "conversations"),
       MakeSql("conversation_trigrams", "conversation_text_source", "conversations")},
      {MakeSql("message_words", "message_text_source", "messages"),
       MakeSql("message_trigrams", "message_text_source", "messages")},
  }};
  return kSql[Index(target)][tokenizer == TextTokenizer::kTrigram ? 1 : 0];
}

// The tokenizer and the target's watermark, read together (upkeep reads both in every write).
struct State {
  TextTokenizer tokenizer = TextTokenizer::kWords;
  int64_t indexed_upto = 0;
};

Result<TextTokenizer> TokenizerOfName(std::string_view name) {
  auto t = ParseTextTokenizer(name);
  if (!t.ok()) return Status::Corruption(fmt::format("meta.text_tokenizer is '{}', not a tokenizer's name", name));
  return *t;
}

Result<State> LoadState(sqlite::Connection& conn, TextSearchTarget target) {
  State state;
  Status bad;
  auto row = conn.ForEachRow(
      "SELECT s.indexed_upto, (SELECT value FROM meta WHERE key = 'text_tokenizer') FROM search_state s"
      " WHERE s.kind = ?1",
      "read the full-text index's state",
      [&](const sqlite::Stmt& st) {
        state.indexed_upto = st.Int(0);
        if (!st.IsNull(1)) {
          auto t = TokenizerOfName(st.Text(1));
          if (!t.ok()) bad = t.status();
          else state.tokenizer = *t;
        }
        return false;
      },
      int64_t{Index(target)});
  if (!row.ok()) return row.status();
  if (!bad.ok()) return bad;
  if (!*row) return Status::Corruption(fmt::format("search_state has no row for {}", RowsOf(target)));
  return state;
}

Status MarkPurgePending(sqlite::Connection& conn, TextSearchTarget target) {
  return conn.Run("UPDATE search_state SET purge_pending = 1 WHERE kind = ?1 AND purge_pending = 0",
                  "record a pending purge", int64_t{Index(target)});
}

Status RunEach(sqlite::Connection& conn, const std::string& sql, const std::vector<int64_t>& ids, int64_t upto,
               const char* context, int64_t* changed = nullptr) {
  for (int64_t id : ids) {
    if (id > upto) continue;
    auto st = conn.Prepare(sql.c_str());
    if (!st.ok()) return st.status();
    st->Bind(1, id);
    CONVSTORE_RETURN_IF_ERROR(st->Run(context));
    if (changed) *changed += conn.changes();
  }
  return Status::OK();
}

}  // namespace

Result<TextTokenizer> LoadTokenizer(sqlite::Connection& conn) {
  auto st = conn.Prepare("SELECT value FROM meta WHERE key = 'text_tokenizer'");
  if (!st.ok()) return st.status();
  auto row = st->Step("read the text tokenizer");
  if (!row.ok()) return row.status();
  if (!*row) return TextTokenizer::kWords;
  return TokenizerOfName(st->Text(0));
}

const char* TableOf(TextSearchTarget target, TextTokenizer tokenizer) {
  if (tokenizer == TextTokenizer::kNone) return nullptr;
  static constexpr const char* kNames[2][2] = {{"conversation_words", "conversation_trigrams"},
                                               {"message_words", "message_trigrams"}};
  return kNames[Index(target)][tokenizer == TextTokenizer::kTrigram ? 1 : 0];
}

Status AfterInsert(sqlite::Connection& conn, TextSearchTarget target, const std::vector<int64_t>& ids) {
  auto state = LoadState(conn, target);
  if (!state.ok()) return state.status();
  if (state->tokenizer == TextTokenizer::kNone) return Status::OK();
  return RunEach(conn, IndexSqlOf(target, state->tokenizer).insert_one, ids, state->indexed_upto,
                 "index a row reusing an indexed id");
}

Status BeforeRowsChange(sqlite::Connection& conn, TextSearchTarget target, const std::vector<int64_t>& ids) {
  auto state = LoadState(conn, target);
  if (!state.ok()) return state.status();
  if (state->tokenizer == TextTokenizer::kNone) return Status::OK();
  int64_t removed = 0;
  CONVSTORE_RETURN_IF_ERROR(RunEach(conn, IndexSqlOf(target, state->tokenizer).delete_one, ids, state->indexed_upto,
                                    "remove a row from the full-text index", &removed));
  return removed > 0 ? MarkPurgePending(conn, target) : Status::OK();
}

Status AfterRowsChange(sqlite::Connection& conn, TextSearchTarget target, const std::vector<int64_t>& ids) {
  return AfterInsert(conn, target, ids);
}

Status BeforeConversationDelete(sqlite::Connection& conn, int64_t conversation_row_id) {
  CONVSTORE_RETURN_IF_ERROR(BeforeRowsChange(conn, TextSearchTarget::kConversations, {conversation_row_id}));
  auto state = LoadState(conn, TextSearchTarget::kMessages);
  if (!state.ok()) return state.status();
  if (state->tokenizer == TextTokenizer::kNone) return Status::OK();
  auto st = conn.Prepare(IndexSqlOf(TextSearchTarget::kMessages, state->tokenizer).delete_conversation_messages.c_str());
  if (!st.ok()) return st.status();
  st->Bind(1, conversation_row_id).Bind(2, state->indexed_upto);
  CONVSTORE_RETURN_IF_ERROR(st->Run("remove a conversation's messages from the full-text index"));
  return conn.changes() > 0 ? MarkPurgePending(conn, TextSearchTarget::kMessages) : Status::OK();
}

Result<int64_t> Pending(sqlite::Connection& conn, TextSearchTarget target) {
  auto state = LoadState(conn, target);
  if (!state.ok()) return state.status();
  if (state->tokenizer == TextTokenizer::kNone) return int64_t{0};
  auto n = target == TextSearchTarget::kMessages
               ? conn.QueryInt("SELECT count(*) FROM messages WHERE id > ?1", "count unindexed messages",
                               state->indexed_upto)
               : conn.QueryInt("SELECT count(*) FROM conversations WHERE id > ?1", "count unindexed conversations",
                               state->indexed_upto);
  if (!n.ok()) return n.status();
  return n->value_or(0);
}

Result<bool> HasPending(sqlite::Connection& conn, TextSearchTarget target) {
  auto state = LoadState(conn, target);
  if (!state.ok()) return state.status();
  if (state->tokenizer == TextTokenizer::kNone) return false;
  auto any = target == TextSearchTarget::kMessages
                 ? conn.QueryInt("SELECT EXISTS (SELECT 1 FROM messages WHERE id > ?1)", "look for unindexed messages",
                                 state->indexed_upto)
                 : conn.QueryInt("SELECT EXISTS (SELECT 1 FROM conversations WHERE id > ?1)",
                                 "look for unindexed conversations", state->indexed_upto);
  if (!any.ok()) return any.status();
  return any->value_or(0) != 0;
}

Result<int64_t> CatchUp(sqlite::Connection& conn, TextSearchTarget target, int64_t max_rows) {
  auto state = LoadState(conn, target);
  if (!state.ok()) return state.status();
  if (state->tokenizer == TextTokenizer::kNone || max_rows <= 0) return int64_t{0};
  // The id of the max_rows-th row after the watermark (or the last one): the new watermark.
  std::optional<int64_t> upto;
  int64_t rows = 0;
  const char* sql = target == TextSearchTarget::kMessages
                        ? "SELECT id FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2"
                        : "SELECT id FROM conversations WHERE id > ?1 ORDER BY id LIMIT ?2";
  auto walked = conn.ForEachRow(
      sql, "find unindexed rows",
      [&](const sqlite::Stmt& st) {
        upto = st.Int(0);
        ++rows;
        return true;
      },
      state->indexed_upto, max_rows);
  if (!walked.ok()) return walked.status();
  if (!upto) return int64_t{0};
  auto st = conn.Prepare(IndexSqlOf(target, state->tokenizer).insert_range.c_str());
  if (!st.ok()) return st.status();
  st->Bind(1, state->indexed_upto).Bind(2, *upto);
  CONVSTORE_RETURN_IF_ERROR(st->Run("index new rows"));
  CONVSTORE_RETURN_IF_ERROR(conn.Run("UPDATE search_state SET indexed_upto = ?2 WHERE kind = ?1",
                                     "advance the full-text watermark", int64_t{Index(target)}, *upto));
  return rows;
}

Result<bool> PurgePending(sqlite::Connection& conn, TextSearchTarget target) {
  auto v = conn.QueryInt("SELECT purge_pending FROM search_state WHERE kind = ?1", "read the pending purge",
                         int64_t{Index(target)});
  if (!v.ok()) return v.status();
  return v->value_or(0) != 0;
}

Result<bool> PurgeStep(sqlite::Connection& conn, TextSearchTarget target) {
  auto state = LoadState(conn, target);
  if (!state.ok()) return state.status();
  if (state->tokenizer != TextTokenizer::kNone) {
    // FTS5's documented test: a 'merge' that changed fewer than two rows found nothing to merge.
    const int64_t before = sqlite3_total_changes64(conn.raw());
    CONVSTORE_RETURN_IF_ERROR(conn.Exec(IndexSqlOf(target, state->tokenizer).merge, "merge the full-text index"));
    if (sqlite3_total_changes64(conn.raw()) - before >= 2) return false;
  }
  CONVSTORE_RETURN_IF_ERROR(conn.Run("UPDATE search_state SET purge_pending = 0 WHERE kind = ?1",
                                     "record the purge done", int64_t{Index(target)}));
  return true;
}

Status Reset(sqlite::Connection& conn, TextTokenizer tokenizer, bool index_now, const ProgressFn& progress) {
  for (TextSearchTarget target : kTargets)
    for (TextTokenizer t : {TextTokenizer::kWords, TextTokenizer::kTrigram})
      CONVSTORE_RETURN_IF_ERROR(conn.Exec(IndexSqlOf(target, t).delete_all, "empty the full-text index"));
  CONVSTORE_RETURN_IF_ERROR(conn.Run("INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                                     "store the text tokenizer", std::string_view(kTokenizerKey),
                                     std::string_view(TextTokenizerName(tokenizer))));
  CONVSTORE_RETURN_IF_ERROR(
      conn.Exec("UPDATE search_state SET indexed_upto = 0, purge_pending = 0", "reset the full-text watermarks"));
  if (!index_now || tokenizer == TextTokenizer::kNone) return Status::OK();
  int64_t total = 0;
  for (TextSearchTarget target : kTargets) {
    auto n = Pending(conn, target);
    if (!n.ok()) return n.status();
    total += *n;
  }
  int64_t done = 0;
  if (progress) progress(0, total);
  for (TextSearchTarget target : kTargets) {
    for (;;) {
      auto step = CatchUp(conn, target, 4096);
      if (!step.ok()) return step.status();
      if (*step == 0) break;
      done += *step;
      if (progress) progress(done, total);
    }
  }
  return Status::OK();
}

Result<std::vector<std::string>> Verify(sqlite::Connection& conn) {
  std::vector<std::string> problems;
  auto tokenizer = LoadTokenizer(conn);
  if (!tokenizer.ok()) return tokenizer.status();
  for (TextSearchTarget target : kTargets) {
    for (TextTokenizer t : {TextTokenizer::kWords, TextTokenizer::kTrigram}) {
      const TableSql& sql = IndexSqlOf(target, t);
      auto count = conn.QueryIntUncached(sql.count, "count the full-text index's rows");
      if (!count.ok()) return count.status();
      if (t != *tokenizer) {
        if (count->value_or(0) != 0)
          problems.push_back(fmt::format("{} holds {} rows, but the store's tokenizer is {}", TableOf(target, t),
                                         count->value_or(0), TextTokenizerName(*tokenizer)));
        continue;
      }
      auto pending = Pending(conn, target);
      if (!pending.ok()) return pending.status();
      if (*pending != 0) {
        problems.push_back(fmt::format("{} {} not indexed yet", *pending, RowsOf(target)));
        continue;
      }
      Status checked = conn.Exec(sql.integrity, "check the full-text index");
      if (checked.code() == Code::kCorruption)
        problems.push_back(fmt::format("{} does not match the {}: {}", TableOf(target, t), RowsOf(target),
                                       checked.message()));
      else if (!checked.ok())
        return checked;
    }
  }
  return problems;
}

Result<SearchIndexStatus> IndexStatus(sqlite::Connection& conn) {
  SearchIndexStatus s;
  auto tokenizer = LoadTokenizer(conn);
  if (!tokenizer.ok()) return tokenizer.status();
  s.tokenizer = *tokenizer;
  for (TextSearchTarget target : kTargets) {
    auto pending = Pending(conn, target);
    if (!pending.ok()) return pending.status();
    auto purge = PurgePending(conn, target);
    if (!purge.ok()) return purge.status();
    s.purge_pending = s.purge_pending || *purge;
    int64_t indexed = 0;
    if (*tokenizer != TextTokenizer::kNone) {
      auto n = conn.QueryIntUncached(IndexSqlOf(target, *tokenizer).count, "count the full-text index's rows");
      if (!n.ok()) return n.status();
      indexed = n->value_or(0);
    }
    if (target == TextSearchTarget::kMessages) {
      s.messages_indexed = indexed;
      s.messages_pending = *pending;
    } else {
      s.conversations_indexed = indexed;
      s.conversations_pending = *pending;
    }
  }
  if (*tokenizer == TextTokenizer::kNone) return s;
  // dbstat reads only the named tables' pages.
  for (TextSearchTarget target : kTargets)
    for (const char* part : {"_data", "_idx", "_docsize", "_config"}) {
      const std::string name = std::string(TableOf(target, *tokenizer)) + part;
      auto bytes = conn.QueryInt("SELECT ifnull(sum(pgsize), 0) FROM dbstat('main', 1) WHERE name = ?1",
                                 "measure the full-text index", std::string_view(name));
      if (!bytes.ok()) return bytes.status();
      s.index_bytes += bytes->value_or(0);
    }
  return s;
}

bool DiscardUnsavedState(sqlite::Connection& conn) {
  // Setting 'automerge' writes only the table's configuration, which the rollback undoes; FTS5's rollback of the
  // transaction discards its pending terms.
  constexpr const char* kContext = "discard the full-text index's unsaved state";
  if (!conn.Exec("BEGIN", kContext).ok()) return false;
  bool touched = true;
  for (const char* table : {"message_words", "message_trigrams", "conversation_words", "conversation_trigrams"})
    touched = conn.Exec(fmt::format("INSERT INTO {0}({0}, rank) VALUES('automerge', 4)", table), kContext).ok() &&
              touched;
  const bool rolled_back = conn.Exec("ROLLBACK", kContext).ok();
  return touched && rolled_back;
}

}  // namespace convstore::search
