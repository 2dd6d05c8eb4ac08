#include "portability/user_rows.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "convstore/limits.h"
#include "records/conversation_counters.h"
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
  const char* name;    // in the record
  const char* column;  // in the table
  F type;
  bool nullable = false;
  int64_t lo = 0;
  int64_t hi = std::numeric_limits<int64_t>::max();
  size_t max_bytes = limits::kMaxNameBytes;
};

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

Field Uid() { return {"id", "uid", F::kId}; }
Field Text(const char* name, size_t max = limits::kMaxNameBytes) { return {name, name, F::kText, false, 0, 0, max}; }
Field OptText(const char* name) { return {name, name, F::kText, true, 0, 0, limits::kMaxKeyBytes}; }
Field Count(const char* name) { return {name, name, F::kInt, false, 0, kMaxInt}; }
Field Int(const char* name, bool nullable, int64_t hi) { return {name, name, F::kInt, nullable, 0, hi}; }
Field Object(const char* name) { return {name, name, F::kObject, false, 0, 0, limits::kMaxMetadataBytes}; }
// "created_at_us" is the column created_at.
Field Time(const char* name, const char* column, bool nullable = false) { return {name, column, F::kTime, nullable}; }
Field Team() { return {"team", "team_id", F::kTeam, true}; }
Field Price() { return {"price", "price_id", F::kPrice, true}; }
Field Ref(const char* name, F type, bool nullable = false) { return {name, name, type, nullable}; }

// The five token counts, the cost and the latency of a message, deleted message or API usage row.
std::vector<Field> Tokens() {
  std::vector<Field> out;
  for (const char* t : {"tokens_input", "tokens_output", "tokens_cached_input", "tokens_cache_write", "tokens_reasoning"})
    out.push_back(Int(t, true, limits::kMaxTokenCount));
  return out;
}
Field Cost() { return Int("cost_nanousd", true, limits::kMaxCostNanoUsd); }
Field Latency() { return Int("latency_us", true, limits::kMaxLatencyUs); }

std::vector<Field> Join(std::initializer_list<std::vector<Field>> parts) {
  std::vector<Field> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// The expression a field is read by, on the table's row X: its column, or what names the row it refers to.
std::string SelectExpression(const Field& f) {
  const std::string c = std::string("X.") + f.column;
  switch (f.type) {
    case F::kConversation: return "(SELECT uid FROM conversations WHERE id = " + c + ")";
    case F::kAnyConversation:  // only the user's own: nothing names another person
      return "(SELECT uid FROM conversations WHERE id = " + c + " AND user_id = X.user_id)";
    case F::kMessage: return "(SELECT uid FROM messages WHERE id = " + c + ")";
    case F::kTeam: return "(SELECT key FROM teams WHERE id = " + c + ")";
    case F::kPrice:
      return "(SELECT json_object('model', model, 'pattern', json(CASE is_pattern WHEN 1 THEN 'true' ELSE 'false'"
             " END), 'origin', origin, 'effective_from_us', effective_from) FROM prices WHERE id = " + c + ")";
    default: return c;
  }
}

struct Spec {
  RowKind kind;
  const char* type;
  const char* table;
  // What follows "FROM <table> X": joins, the owner's condition (?1: the user, or a conversation) and the order.
  const char* from;
  // Columns inserted after the fields' and their values, "?" standing for the user's id (bound after the fields);
  // "" when the row belongs to its parent row rather than to the user.
  const char* owner_columns;
  const char* owner_values;
  std::vector<Field> fields;
  std::string select_sql{};  // made from the above
  std::string insert_sql{};
};

Spec Make(Spec spec) {
  spec.select_sql = "SELECT X.id";
  std::string columns, values;
  for (size_t i = 0; i < spec.fields.size(); ++i) {
    // A conversation's counters as read: the stored ones lag its newest messages.
    std::optional<std::string> counter;
    if (spec.kind == RowKind::kConversation) counter = records::CounterAsReadSql(spec.fields[i].column, "X");
    spec.select_sql += ", " + counter.value_or(SelectExpression(spec.fields[i]));
    columns += (i ? ", " : "") + std::string(spec.fields[i].column);
    values += (i ? ", ?" : "?") + std::to_string(i + 1);
  }
  spec.select_sql += std::string(" FROM ") + spec.table + " X " + spec.from;
  if (*spec.owner_columns != '\0') {
    columns += std::string(", ") + spec.owner_columns;
    std::string owner = spec.owner_values;
    owner.replace(owner.find('?'), 1, "?" + std::to_string(spec.fields.size() + 1));
    values += ", " + owner;
  }
  spec.insert_sql = std::string("INSERT INTO ") + spec.table + "(" + columns + ") VALUES (" + values + ")";
  return spec;
}

const std::array<Spec, 6>& Specs() {
  static const std::array<Spec, 6> specs = {
      Make({RowKind::kConversation, "conversation", "conversations", "WHERE X.user_id = ?1 ORDER BY X.id", "user_id",
            "?",
            {Uid(), Text("title", limits::kMaxTitleBytes), Text("system_prompt", limits::kMaxSystemPromptBytes),
             Text("model"), Ref("temperature", F::kReal, true), Int("max_tokens", true, limits::kMaxMaxTokens),
             Ref("archived", F::kBool), Object("metadata"), OptText("external_id"), Count("next_position"),
             Count("message_count"), Count("tokens_input"), Count("tokens_output"), Count("tokens_cached_input"),
             Count("tokens_cache_write"), Count("tokens_reasoning"), Count("cost_nanousd"),
             Time("created_at_us", "created_at"), Time("updated_at_us", "updated_at")}}),
      Make({RowKind::kMessage, "message", "messages", "WHERE X.conversation_id = ?1 ORDER BY X.position", "", "",
            Join({{Uid(), Ref("conversation_id", F::kConversation), Count("position"), Text("role"),
                   Text("content", limits::kMaxContentBytes), Text("model"), Text("model_version")},
                  Tokens(),
                  {Cost(), Latency(), Object("metadata"), OptText("request_id"), OptText("tool_call_id"),
                   {"raw", "raw", F::kVerbatim, true, 0, 0, limits::kMaxContentBytes}, Team(), Price(),
                   Time("created_at_us", "created_at")}})}),
      Make({RowKind::kToolCall, "tool_call", "tool_calls",
            "JOIN messages m ON m.id = X.message_id WHERE m.conversation_id = ?1 ORDER BY X.id", "", "",
            {Uid(), Ref("message_id", F::kMessage), OptText("call_id"), Text("tool_name"),
             {"input", "input", F::kDocument, false, 0, 0, limits::kMaxToolPayloadBytes},
             {"output", "output", F::kDocument, true, 0, 0, limits::kMaxToolPayloadBytes},
             Int("duration_us", true, kMaxInt), Text("status"), Text("error_message", limits::kMaxContentBytes),
             Time("created_at_us", "created_at"), Time("updated_at_us", "updated_at", true)}}),
      Make({RowKind::kDeletedMessage, "deleted_message", "message_tombstones",
            "WHERE X.conversation_id = ?1 ORDER BY X.position", "", "",
            Join({{Ref("conversation_id", F::kConversation), {"message_id", "message_uid", F::kId}, Count("position"),
                   Text("role"), Text("model"), Team()},
                  Tokens(),
                  {Cost(), Latency(), OptText("request_id"), Time("created_at_us", "created_at"),
                   Time("deleted_at_us", "deleted_at")}})}),
      Make({RowKind::kApiUsage, "api_usage", "api_usage", "WHERE X.user_id = ?1 ORDER BY X.id", "user_id", "?",
            Join({{Uid(), Ref("conversation_id", F::kAnyConversation, true), Team(), Text("model"), Text("endpoint")},
                  Tokens(),
                  {Cost(), Price(), Latency(), Text("status"), Text("error_code"),
                   Text("error_message", limits::kMaxContentBytes), Object("metadata"), OptText("request_id"),
                   Time("recorded_at_us", "recorded_at")}})}),
      Make({RowKind::kBudget, "budget", "budgets", "WHERE X.scope = 2 AND X.scope_id = ?1 ORDER BY X.id",
            "scope, scope_id", "2, ?",
            {{"name", "name", F::kId}, Text("period"), Int("window_hours", false, 24 * 366),
             Int("hard_limit_nanousd", true, limits::kMaxTeamBudgetNanoUsd),
             Int("soft_limit_nanousd", true, limits::kMaxTeamBudgetNanoUsd), Time("created_at_us", "created_at"),
             Time("updated_at_us", "updated_at")}}),
  };
  return specs;
}

const Spec& SpecOf(RowKind kind) { return Specs()[static_cast<size_t>(kind)]; }

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
        spec.select_sql.c_str(), "read a user's rows",
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
  auto st = conn_.Prepare(spec.insert_sql.c_str());
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
  if (*spec.owner_columns != '\0') st->Bind(static_cast<int>(spec.fields.size()) + 1, user_id_);
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
