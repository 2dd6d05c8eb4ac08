#include "portability/user_rows.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "convstore/limits.h"
#include "util/json_check.h"
#include "util/json_input.h"
#include "util/json_writer.h"
#include "util/status_macros.h"
#include "util/validate.h"

namespace convstore::portability {

namespace {

// What a record's field holds. References name another row by what names it outside this store.
enum class F {
  kInt,           // an integer in [lo, hi]
  kTime,          // µs UTC
  kReal,          // a finite number (temperature)
  kBool,          // stored 0/1
  kText,          // UTF-8 of at most max bytes
  kId,            // a key or id: 1..kMaxKeyBytes
  kObject,        // a JSON object (metadata), stored in printed form
  kDocument,      // any JSON value (tool input and output), stored in printed form
  kVerbatim,      // JSON text kept byte for byte (a raw item): carried as a string
  kTeam,          // a team's key
  kPrice,         // a price's identity: {"model", "pattern", "origin", "effective_from_us"}
  kConversation,  // a conversation of this import, by id
  kMessage,       // a message of this import, by id
  kAnyConversation,  // a conversation anywhere in the store, by id (null when there is none)
};

struct Field {
  const char* name;
  F type;
  bool nullable = false;
  int64_t lo = 0;
  int64_t hi = std::numeric_limits<int64_t>::max();
  size_t max_bytes = limits::kMaxNameBytes;
};

constexpr int64_t kTokens = limits::kMaxTokenCount;

Field Tokens(const char* name) { return {name, F::kInt, true, 0, kTokens}; }
Field Text(const char* name, size_t max = limits::kMaxNameBytes) { return {name, F::kText, false, 0, 0, max}; }
Field OptText(const char* name, size_t max = limits::kMaxKeyBytes) { return {name, F::kText, true, 0, 0, max}; }
Field Count(const char* name) { return {name, F::kInt, false, 0, std::numeric_limits<int64_t>::max()}; }
Field Time(const char* name, bool nullable = false) { return {name, F::kTime, nullable}; }

struct Spec {
  RowKind kind;
  const char* type;
  // SELECT row id, then the fields in order; ?1 = the user (conversations, API usage, budgets) or the
  // conversation (the rest).
  const char* select_sql;
  // The fields bound as ?1..?n in order; ?(n+1) = the user where the table has one.
  const char* insert_sql;
  std::vector<Field> fields;
};

#define CONVSTORE_PRICE_IDENTITY(column)                                                                        \
  "(SELECT json_object('model', model, 'pattern', json(CASE is_pattern WHEN 1 THEN 'true' ELSE 'false' END)," \
  " 'origin', origin, 'effective_from_us', effective_from) FROM prices WHERE id = " column ")"

const std::array<Spec, 6>& Specs() {
  static const std::array<Spec, 6> specs = {{
      {RowKind::kConversation, "conversation",
       "SELECT X.id, X.uid, X.title, X.system_prompt, X.model, X.temperature, X.max_tokens, X.archived, X.metadata,"
       " X.external_id, X.next_position, X.message_count, X.tokens_input, X.tokens_output, X.tokens_cached_input,"
       " X.tokens_cache_write, X.tokens_reasoning, X.cost_nanousd, X.created_at, X.updated_at"
       " FROM conversations X WHERE X.user_id = ?1 ORDER BY X.id",
       "INSERT INTO conversations(uid, title, system_prompt, model, temperature, max_tokens, archived, metadata,"
       " external_id, next_position, message_count, tokens_input, tokens_output, tokens_cached_input,"
       " tokens_cache_write, tokens_reasoning, cost_nanousd, created_at, updated_at, user_id)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
       {{"id", F::kId},
        Text("title", limits::kMaxTitleBytes),
        Text("system_prompt", limits::kMaxSystemPromptBytes),
        Text("model"),
        {"temperature", F::kReal, true},
        {"max_tokens", F::kInt, true, 0, limits::kMaxMaxTokens},
        {"archived", F::kBool},
        {"metadata", F::kObject, false, 0, 0, limits::kMaxMetadataBytes},
        OptText("external_id"),
        Count("next_position"),
        Count("message_count"),
        Count("tokens_input"),
        Count("tokens_output"),
        Count("tokens_cached_input"),
        Count("tokens_cache_write"),
        Count("tokens_reasoning"),
        Count("cost_nanousd"),
        Time("created_at_us"),
        Time("updated_at_us")}},
      {RowKind::kMessage, "message",
       "SELECT X.id, X.uid, (SELECT uid FROM conversations WHERE id = X.conversation_id), X.position, X.role,"
       " X.content, X.model, X.model_version, X.tokens_input, X.tokens_output, X.tokens_cached_input,"
       " X.tokens_cache_write, X.tokens_reasoning, X.cost_nanousd, X.latency_us, X.metadata, X.request_id,"
       " X.tool_call_id, X.raw, (SELECT key FROM teams WHERE id = X.team_id), " CONVSTORE_PRICE_IDENTITY("X.price_id")
       ", X.created_at FROM messages X WHERE X.conversation_id = ?1 ORDER BY X.position",
       "INSERT INTO messages(uid, conversation_id, position, role, content, model, model_version, tokens_input,"
       " tokens_output, tokens_cached_input, tokens_cache_write, tokens_reasoning, cost_nanousd, latency_us, metadata,"
       " request_id, tool_call_id, raw, team_id, price_id, created_at)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
       {{"id", F::kId},
        {"conversation_id", F::kConversation},
        Count("position"),
        Text("role"),
        Text("content", limits::kMaxContentBytes),
        Text("model"),
        Text("model_version"),
        Tokens("tokens_input"),
        Tokens("tokens_output"),
        Tokens("tokens_cached_input"),
        Tokens("tokens_cache_write"),
        Tokens("tokens_reasoning"),
        {"cost_nanousd", F::kInt, true, 0, limits::kMaxCostNanoUsd},
        {"latency_us", F::kInt, true, 0, limits::kMaxLatencyUs},
        {"metadata", F::kObject, false, 0, 0, limits::kMaxMetadataBytes},
        OptText("request_id"),
        OptText("tool_call_id"),
        {"raw", F::kVerbatim, true, 0, 0, limits::kMaxContentBytes},
        {"team", F::kTeam, true},
        {"price", F::kPrice, true},
        Time("created_at_us")}},
      {RowKind::kToolCall, "tool_call",
       "SELECT X.id, X.uid, (SELECT uid FROM messages WHERE id = X.message_id), X.call_id, X.tool_name, X.input,"
       " X.output, X.duration_us, X.status, X.error_message, X.created_at, X.updated_at"
       " FROM tool_calls X JOIN messages m ON m.id = X.message_id WHERE m.conversation_id = ?1 ORDER BY X.id",
       "INSERT INTO tool_calls(uid, message_id, call_id, tool_name, input, output, duration_us, status,"
       " error_message, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
       {{"id", F::kId},
        {"message_id", F::kMessage},
        OptText("call_id"),
        Text("tool_name"),
        {"input", F::kDocument, false, 0, 0, limits::kMaxToolPayloadBytes},
        {"output", F::kDocument, true, 0, 0, limits::kMaxToolPayloadBytes},
        {"duration_us", F::kInt, true, 0, std::numeric_limits<int64_t>::max()},
        Text("status"),
        Text("error_message", limits::kMaxContentBytes),
        Time("created_at_us"),
        Time("updated_at_us", true)}},
      {RowKind::kDeletedMessage, "deleted_message",
       "SELECT X.id, (SELECT uid FROM conversations WHERE id = X.conversation_id), X.message_uid, X.position,"
       " X.role, X.model, (SELECT key FROM teams WHERE id = X.team_id), X.tokens_input, X.tokens_output,"
       " X.tokens_cached_input, X.tokens_cache_write, X.tokens_reasoning, X.cost_nanousd, X.latency_us,"
       " X.request_id, X.created_at, X.deleted_at FROM message_tombstones X WHERE X.conversation_id = ?1"
       " ORDER BY X.position",
       "INSERT INTO message_tombstones(conversation_id, message_uid, position, role, model, team_id, tokens_input,"
       " tokens_output, tokens_cached_input, tokens_cache_write, tokens_reasoning, cost_nanousd, latency_us,"
       " request_id, created_at, deleted_at)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
       {{"conversation_id", F::kConversation},
        {"message_id", F::kId},
        Count("position"),
        Text("role"),
        Text("model"),
        {"team", F::kTeam, true},
        Tokens("tokens_input"),
        Tokens("tokens_output"),
        Tokens("tokens_cached_input"),
        Tokens("tokens_cache_write"),
        Tokens("tokens_reasoning"),
        {"cost_nanousd", F::kInt, true, 0, limits::kMaxCostNanoUsd},
        {"latency_us", F::kInt, true, 0, limits::kMaxLatencyUs},
        OptText("request_id"),
        Time("created_at_us"),
        Time("deleted_at_us")}},
      {RowKind::kApiUsage, "api_usage",
       "SELECT X.id, X.uid, (SELECT uid FROM conversations WHERE id = X.conversation_id AND user_id = X.user_id),"
       " (SELECT key FROM teams WHERE id = X.team_id), X.model, X.endpoint, X.tokens_input, X.tokens_output,"
       " X.tokens_cached_input, X.tokens_cache_write, X.tokens_reasoning, X.cost_nanousd, "
       CONVSTORE_PRICE_IDENTITY("X.price_id") ", X.latency_us, X.status, X.error_code, X.error_message, X.metadata,"
       " X.request_id, X.recorded_at FROM api_usage X WHERE X.user_id = ?1 ORDER BY X.id",
       "INSERT INTO api_usage(uid, conversation_id, team_id, model, endpoint, tokens_input, tokens_output,"
       " tokens_cached_input, tokens_cache_write, tokens_reasoning, cost_nanousd, price_id, latency_us, status,"
       " error_code, error_message, metadata, request_id, recorded_at, user_id)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
       {{"id", F::kId},
        {"conversation_id", F::kAnyConversation, true},
        {"team", F::kTeam, true},
        Text("model"),
        Text("endpoint"),
        Tokens("tokens_input"),
        Tokens("tokens_output"),
        Tokens("tokens_cached_input"),
        Tokens("tokens_cache_write"),
        Tokens("tokens_reasoning"),
        {"cost_nanousd", F::kInt, true, 0, limits::kMaxCostNanoUsd},
        {"price", F::kPrice, true},
        {"latency_us", F::kInt, true, 0, limits::kMaxLatencyUs},
        Text("status"),
        Text("error_code"),
        Text("error_message", limits::kMaxContentBytes),
        {"metadata", F::kObject, false, 0, 0, limits::kMaxMetadataBytes},
        OptText("request_id"),
        Time("recorded_at_us")}},
      {RowKind::kBudget, "budget",
       "SELECT X.id, X.name, X.period, X.window_hours, X.hard_limit_nanousd, X.soft_limit_nanousd, X.created_at,"
       " X.updated_at FROM budgets X WHERE X.scope = 2 AND X.scope_id = ?1 ORDER BY X.id",
       "INSERT INTO budgets(name, period, window_hours, hard_limit_nanousd, soft_limit_nanousd, created_at,"
       " updated_at, scope, scope_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 2, ?8)",
       {{"name", F::kId},
        Text("period"),
        {"window_hours", F::kInt, false, 0, 24 * 366},
        {"hard_limit_nanousd", F::kInt, true, 0, limits::kMaxTeamBudgetNanoUsd},
        {"soft_limit_nanousd", F::kInt, true, 0, limits::kMaxTeamBudgetNanoUsd},
        Time("created_at_us"),
        Time("updated_at_us")}},
  }};
  return specs;
}

#undef CONVSTORE_PRICE_IDENTITY

const Spec& SpecOf(RowKind kind) { return Specs()[static_cast<size_t>(kind)]; }

// Kinds with the user as their owner (bound after the fields), and the kinds read per conversation.
bool OwnedByUser(RowKind kind) {
  return kind == RowKind::kConversation || kind == RowKind::kApiUsage || kind == RowKind::kBudget;
}

// Writes column `c` of `st` as the value of `field`.
Status WriteField(util::JsonWriter& w, const Field& field, const sqlite::Stmt& st, int c) {
  w.Key(field.name);
  if (st.IsNull(c)) {
    w.Null();
    return Status::OK();
  }
  switch (field.type) {
    case F::kInt:
    case F::kTime:
      w.Int(st.Int(c));
      break;
    case F::kReal:
      w.Double(st.Double(c));
      break;
    case F::kBool:
      w.Bool(st.Int(c) != 0);
      break;
    case F::kObject:
    case F::kDocument:
    case F::kPrice: {
      const std::string_view doc = st.Text(c);
      if (util::CheckJsonText(doc) == util::JsonKind::kInvalid)
        return Status::Corruption(fmt::format("a stored {} is not valid JSON", field.name));
      w.Raw(doc);
      break;
    }
    default:
      w.String(st.Text(c));
  }
  return Status::OK();
}

}  // namespace

const char* TypeName(RowKind kind) { return SpecOf(kind).type; }

std::optional<RowKind> KindOfType(std::string_view type) {
  for (const Spec& s : Specs())
    if (type == s.type) return s.kind;
  return std::nullopt;
}

Result<UserRowTotals> CountRowsOfUser(sqlite::Connection& conn, int64_t user_id) {
  auto row = conn.QueryRow(
      "SELECT (SELECT count(*) FROM conversations WHERE user_id = ?1),"
      " (SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.user_id = ?1),"
      " (SELECT count(*) FROM tool_calls t JOIN messages m ON m.id = t.message_id"
      "   JOIN conversations c ON c.id = m.conversation_id WHERE c.user_id = ?1),"
      " (SELECT count(*) FROM message_tombstones t JOIN conversations c ON c.id = t.conversation_id"
      "   WHERE c.user_id = ?1),"
      " (SELECT count(*) FROM api_usage WHERE user_id = ?1),"
      " (SELECT count(*) FROM budgets WHERE scope = 2 AND scope_id = ?1),"
      " (SELECT coalesce(sum(m.cost_nanousd), 0) FROM messages m JOIN conversations c ON c.id = m.conversation_id"
      "   WHERE c.user_id = ?1)"
      " + (SELECT coalesce(sum(t.cost_nanousd), 0) FROM message_tombstones t"
      "   JOIN conversations c ON c.id = t.conversation_id WHERE c.user_id = ?1)"
      " + (SELECT coalesce(sum(cost_nanousd), 0) FROM api_usage WHERE user_id = ?1)",
      "count a user's rows",
      [](const sqlite::Stmt& st) {
        UserRowTotals t;
        t.counts.conversations = st.Int(0);
        t.counts.messages = st.Int(1);
        t.counts.tool_calls = st.Int(2);
        t.counts.deleted_messages = st.Int(3);
        t.counts.api_usage = st.Int(4);
        t.counts.budgets = st.Int(5);
        t.cost_nanousd = st.Int(6);
        return t;
      },
      user_id);
  if (!row.ok()) return row.status();
  return row->value_or(UserRowTotals{});
}

Status RowsOfUser(sqlite::Connection& conn, int64_t user_id,
                  const std::function<Status(RowKind kind, std::string&& record, int64_t row_id)>& emit) {
  // One kind's rows of one owner (the user, or a conversation); then(row_id) after each row's record.
  std::function<Status(RowKind, int64_t, const std::function<Status(int64_t)>&)> walk =
      [&](RowKind kind, int64_t owner, const std::function<Status(int64_t)>& then) -> Status {
    const Spec& spec = SpecOf(kind);
    Status failed;
    auto walked = conn.ForEachRow(
        spec.select_sql, "read a user's rows",
        [&](const sqlite::Stmt& st) {
          util::JsonWriter w;
          w.BeginObject().Key("type").String(spec.type);
          for (size_t i = 0; i < spec.fields.size() && failed.ok(); ++i)
            failed = WriteField(w, spec.fields[i], st, static_cast<int>(i) + 1);
          if (!failed.ok()) return false;
          w.EndObject();
          const int64_t row_id = st.Int(0);
          failed = emit(kind, w.Take(), row_id);
          if (failed.ok() && then) failed = then(row_id);
          return failed.ok();
        },
        owner);
    if (!walked.ok()) return walked.status();
    return failed;
  };
  // Each conversation, followed by what lies under it (other statements, stepped inside the conversations' walk).
  const auto children = [&](int64_t conversation) -> Status {
    for (RowKind kind : {RowKind::kMessage, RowKind::kToolCall, RowKind::kDeletedMessage})
      if (Status s = walk(kind, conversation, nullptr); !s.ok()) return s;
    return Status::OK();
  };
  CONVSTORE_RETURN_IF_ERROR(walk(RowKind::kConversation, user_id, children));
  CONVSTORE_RETURN_IF_ERROR(walk(RowKind::kApiUsage, user_id, nullptr));
  return walk(RowKind::kBudget, user_id, nullptr);
}

namespace {

// The value of `field` in `record`: nullptr for null (or absent, when the field may be null).
Result<const nlohmann::json*> ValueOf(const nlohmann::json& record, const Field& field) {
  auto it = record.find(field.name);
  if (it == record.end() || it->is_null()) {
    if (field.nullable) return static_cast<const nlohmann::json*>(nullptr);
    return Status::InvalidArgument(fmt::format("\"{}\" is required", field.name));
  }
  return &*it;
}

Status Mistyped(const Field& field, const char* what) {
  return Status::InvalidArgument(fmt::format("\"{}\" must be {}", field.name, what));
}

// The id of the team with this key, created (with no name) when the store has none.
Result<int64_t> TeamIdCreating(sqlite::Connection& conn, std::string_view key, Micros now) {
  auto found = conn.QueryInt("SELECT id FROM teams WHERE key = ?1", "find a team", key);
  if (!found.ok()) return found.status();
  if (*found) return **found;
  CONVSTORE_RETURN_IF_ERROR(
      conn.Run("INSERT INTO teams(key, created_at, updated_at) VALUES (?1, ?2, ?2)", "create a team", key, now));
  return conn.last_insert_rowid();
}

}  // namespace

Result<std::string> UserObject(sqlite::Connection& conn, int64_t user_id) {
  auto row = conn.QueryRow(
      "SELECT u.key, u.email, u.name, u.role, u.active, t.key, u.created_at, u.updated_at, p.pseudonym"
      " FROM users u LEFT JOIN teams t ON t.id = u.team_id LEFT JOIN user_pseudonyms p ON p.user_id = u.id"
      " WHERE u.id = ?1",
      "read a user",
      [](const sqlite::Stmt& st) {
        util::JsonWriter w;
        w.BeginObject().Key("key").String(st.Text(0)).Key("email").String(st.Text(1)).Key("name").String(st.Text(2));
        w.Key("role").String(st.Text(3)).Key("active").Bool(st.Int(4) != 0).Key("team");
        if (st.IsNull(5))
          w.Null();
        else
          w.String(st.Text(5));
        w.Key("created_at_us").Int(st.Int(6)).Key("updated_at_us").Int(st.Int(7)).Key("pseudonym");
        if (st.IsNull(8))
          w.Null();
        else
          w.String(st.Text(8));
        w.EndObject();
        return w.Take();
      },
      user_id);
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound("no such user");
  return std::move(**row);
}

Result<int64_t> ImportUserObject(sqlite::Connection& conn, const nlohmann::json& user, std::optional<int64_t> erased_row,
                                 Micros now) {
  if (!user.is_object()) return Status::InvalidArgument("\"user\" must be a JSON object");
  static const char* const kFields[] = {"key", "email", "name", "role", "active", "team",
                                        "created_at_us", "updated_at_us", "pseudonym"};
  for (auto it = user.begin(); it != user.end(); ++it) {
    const std::string& field = it.key();
    if (std::find_if(std::begin(kFields), std::end(kFields), [&](const char* f) { return field == f; }) ==
        std::end(kFields))
      return Status::InvalidArgument(fmt::format("\"user\" has no field \"{}\"", field));
  }
  auto text = [&](const char* name, bool nullable, size_t max, std::optional<std::string>& out) -> Status {
    auto it = user.find(name);
    if (it == user.end() || it->is_null()) {
      if (nullable) return Status::OK();
      return Status::InvalidArgument(fmt::format("\"user.{}\" is required", name));
    }
    if (!it->is_string()) return Status::InvalidArgument(fmt::format("\"user.{}\" must be a string", name));
    out = it->get<std::string>();
    return max == 0 ? util::CheckKey(*out, name) : util::CheckText(*out, name, max);
  };
  std::optional<std::string> key, email, name, role, team, pseudonym;
  CONVSTORE_RETURN_IF_ERROR(text("key", false, 0, key));
  CONVSTORE_RETURN_IF_ERROR(text("email", false, limits::kMaxNameBytes, email));
  CONVSTORE_RETURN_IF_ERROR(text("name", false, limits::kMaxNameBytes, name));
  CONVSTORE_RETURN_IF_ERROR(text("role", false, limits::kMaxNameBytes, role));
  CONVSTORE_RETURN_IF_ERROR(text("team", true, 0, team));
  CONVSTORE_RETURN_IF_ERROR(text("pseudonym", true, 0, pseudonym));
  if (key->rfind("erased:", 0) == 0)
    return Status::InvalidArgument("\"user.key\" is an erased user's key: an export of an erased user has no data");
  auto active = user.find("active");
  if (active == user.end() || !active->is_boolean())
    return Status::InvalidArgument("\"user.active\" must be true or false");
  int64_t times[2] = {0, 0};
  const char* const time_names[2] = {"created_at_us", "updated_at_us"};
  for (int i = 0; i < 2; ++i) {
    auto it = user.find(time_names[i]);
    if (it == user.end() || !it->is_number_integer() ||
        (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)))
      return Status::InvalidArgument(fmt::format("\"user.{}\" must be an integer", time_names[i]));
    times[i] = it->get<int64_t>();
    CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(times[i], time_names[i]));
  }
  std::optional<int64_t> team_id;
  if (team) {
    auto id = TeamIdCreating(conn, *team, now);
    if (!id.ok()) return id.status();
    team_id = *id;
  }
  const int64_t is_active = active->get<bool>() ? 1 : 0;
  int64_t row = 0;
  if (erased_row) {
    row = *erased_row;
    CONVSTORE_RETURN_IF_ERROR(conn.Run(
        "UPDATE users SET key = ?2, email = ?3, name = ?4, role = ?5, active = ?6, team_id = ?7, created_at = ?8,"
        " updated_at = ?9 WHERE id = ?1",
        "restore a user", row, std::string_view(*key), std::string_view(*email), std::string_view(*name),
        std::string_view(*role), is_active, team_id, times[0], times[1]));
  } else {
    CONVSTORE_RETURN_IF_ERROR(conn.Run(
        "INSERT INTO users(key, email, name, role, active, team_id, created_at, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        "import a user", std::string_view(*key), std::string_view(*email), std::string_view(*name),
        std::string_view(*role), is_active, team_id, times[0], times[1]));
    row = conn.last_insert_rowid();
    if (pseudonym) {
      auto used = conn.QueryInt("SELECT count(*) FROM user_pseudonyms WHERE pseudonym = ?1", "find a pseudonym",
                                std::string_view(*pseudonym));
      if (!used.ok()) return used.status();
      if (used->value_or(0) == 0)
        CONVSTORE_RETURN_IF_ERROR(conn.Run(
            "INSERT INTO user_pseudonyms(user_id, pseudonym, created_at) VALUES (?1, ?2, ?3)", "keep a pseudonym",
            row, std::string_view(*pseudonym), now));
    }
  }
  return row;
}

Result<int64_t> RowImporter::Insert(RowKind kind, const nlohmann::json& record) {
  const Spec& spec = SpecOf(kind);
  if (!record.is_object()) return Status::InvalidArgument("a record must be a JSON object");
  for (const auto& [key, value] : record.items()) {
    if (key == "type") continue;
    bool known = false;
    for (const Field& f : spec.fields) known = known || key == f.name;
    if (!known) return Status::InvalidArgument(fmt::format("a {} has no field \"{}\"", spec.type, key));
  }
  auto st = conn_.Prepare(spec.insert_sql);
  if (!st.ok()) return st.status();
  std::vector<std::string> texts;  // bound without copy: kept until the insert ran
  texts.reserve(spec.fields.size());
  ImportedConversation* parent = nullptr;
  std::string uid;
  int64_t message_count = 0;
  for (size_t i = 0; i < spec.fields.size(); ++i) {
    const Field& f = spec.fields[i];
    const int index = static_cast<int>(i) + 1;
    auto value = ValueOf(record, f);
    if (!value.ok()) return value.status();
    const nlohmann::json* v = *value;
    if (v == nullptr) {
      st->BindNull(index);
      continue;
    }
    switch (f.type) {
      case F::kInt:
      case F::kTime: {
        if (!v->is_number_integer()) return Mistyped(f, "an integer");
        if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
          return Mistyped(f, "a 64-bit integer");
        const int64_t n = v->get<int64_t>();
        if (f.type == F::kTime)
          CONVSTORE_RETURN_IF_ERROR(util::CheckTimestamp(n, f.name));
        else
          CONVSTORE_RETURN_IF_ERROR(util::CheckRange(n, f.lo, f.hi, f.name));
        if (kind == RowKind::kConversation && std::string_view(f.name) == "message_count") message_count = n;
        st->Bind(index, n);
        break;
      }
      case F::kReal: {
        if (!v->is_number()) return Mistyped(f, "a number");
        const double d = v->get<double>();
        if (!(d >= 0 && d <= limits::kMaxTemperature)) return Mistyped(f, "a number from 0 to 10");
        st->Bind(index, d);
        break;
      }
      case F::kBool:
        if (!v->is_boolean()) return Mistyped(f, "true or false");
        st->Bind(index, int64_t{v->get<bool>() ? 1 : 0});
        break;
      case F::kText:
      case F::kId: {
        if (!v->is_string()) return Mistyped(f, "a string");
        std::string& text = texts.emplace_back(v->get<std::string>());
        if (f.type == F::kId)
          CONVSTORE_RETURN_IF_ERROR(util::CheckKey(text, f.name));
        else
          CONVSTORE_RETURN_IF_ERROR(util::CheckText(text, f.name, f.max_bytes));
        if (i == 0) uid = text;
        st->Bind(index, std::string_view(text));
        break;
      }
      case F::kObject:
      case F::kDocument: {
        if (f.type == F::kObject && !v->is_object()) return Mistyped(f, "a JSON object");
        auto stored = util::NormalizeJson(v->dump(), f.name, f.max_bytes, f.type == F::kObject);
        if (!stored.ok()) return stored.status();
        st->Bind(index, std::string_view(texts.emplace_back(std::move(*stored))));
        break;
      }
      case F::kVerbatim: {
        if (!v->is_string()) return Mistyped(f, "a string holding JSON text");
        std::string& text = texts.emplace_back(v->get<std::string>());
        CONVSTORE_RETURN_IF_ERROR(util::CheckText(text, f.name, f.max_bytes));
        if (util::CheckJsonText(text) == util::JsonKind::kInvalid)
          return Mistyped(f, "a string holding JSON text");
        st->Bind(index, std::string_view(text));
        break;
      }
      case F::kTeam: {
        if (!v->is_string()) return Mistyped(f, "a team key");
        const std::string key = v->get<std::string>();
        CONVSTORE_RETURN_IF_ERROR(util::CheckKey(key, f.name));
        auto team = TeamIdCreating(conn_, key, now_);
        if (!team.ok()) return team.status();
        st->Bind(index, *team);
        break;
      }
      case F::kPrice: {
        auto price = PriceId(*v);
        if (!price.ok()) return price.status();
        st->Bind(index, *price);
        break;
      }
      case F::kConversation: {
        if (!v->is_string()) return Mistyped(f, "a conversation id");
        auto it = conversations_.find(v->get_ref<const std::string&>());
        if (it == conversations_.end())
          return Status::InvalidArgument(fmt::format(
              "\"{}\" names conversation {}, which is not earlier in the export", f.name, v->get<std::string>()));
        parent = &it->second;
        st->Bind(index, it->second.row_id);
        break;
      }
      case F::kMessage: {
        if (!v->is_string()) return Mistyped(f, "a message id");
        auto it = messages_.find(v->get_ref<const std::string&>());
        if (it == messages_.end())
          return Status::InvalidArgument(fmt::format("\"{}\" names message {}, which is not earlier in the export",
                                                     f.name, v->get<std::string>()));
        st->Bind(index, it->second);
        break;
      }
      case F::kAnyConversation: {
        if (!v->is_string()) return Mistyped(f, "a conversation id");
        auto it = conversations_.find(v->get_ref<const std::string&>());
        if (it != conversations_.end()) {
          st->Bind(index, it->second.row_id);
          break;
        }
        auto row = conn_.QueryInt("SELECT id FROM conversations WHERE uid = ?1 AND user_id = ?2",
                                  "find a conversation", std::string_view(v->get_ref<const std::string&>()), user_id_);
        if (!row.ok()) return row.status();
        st->Bind(index, *row);
        break;
      }
    }
  }
  if (OwnedByUser(kind)) st->Bind(static_cast<int>(spec.fields.size()) + 1, user_id_);
  Status ran = st->Run(fmt::format("import a {}", spec.type));
  if (!ran.ok()) {
    if (ran.code() != Code::kConflict) return ran;
    // A CHECK constraint: a value the store never holds (a role, a status, a period). Else a unique key.
    if (ran.message().find("CHECK constraint") != std::string::npos)
      return Status::InvalidArgument(fmt::format("a {} the store would not hold: {}", spec.type, ran.message()));
    return Status::Conflict(fmt::format("{} {}: the store already holds it ({})", spec.type, uid, ran.message()));
  }
  const int64_t row_id = conn_.last_insert_rowid();
  switch (kind) {
    case RowKind::kConversation:
      conversations_[uid] = ImportedConversation{row_id, message_count, 0};
      break;
    case RowKind::kMessage:
      messages_[uid] = row_id;
      if (parent) ++parent->messages;
      break;
    default:
      break;
  }
  return row_id;
}

std::string RowImporter::FirstConversationWithWrongCount() const {
  for (const auto& [uid, c] : conversations_)
    if (c.messages != c.message_count) return uid;
  return "";
}

Result<std::optional<int64_t>> RowImporter::PriceId(const nlohmann::json& identity) {
  const auto model = identity.find("model");
  const auto pattern = identity.find("pattern");
  const auto origin = identity.find("origin");
  const auto from = identity.find("effective_from_us");
  if (!identity.is_object() || identity.size() != 4 || model == identity.end() || !model->is_string() ||
      pattern == identity.end() || !pattern->is_boolean() || origin == identity.end() || !origin->is_string() ||
      from == identity.end() || !from->is_number_integer())
    return Status::InvalidArgument(
        "\"price\" must be null or {\"model\": string, \"pattern\": bool, \"origin\": string, "
        "\"effective_from_us\": integer}");
  return conn_.QueryInt(
      "SELECT id FROM prices WHERE model = ?1 AND is_pattern = ?2 AND origin = ?3 AND effective_from = ?4",
      "find a price", std::string_view(model->get_ref<const std::string&>()),
      int64_t{pattern->get<bool>() ? 1 : 0}, std::string_view(origin->get_ref<const std::string&>()),
      from->get<int64_t>());
}

}  // namespace convstore::portability
