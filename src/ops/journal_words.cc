#include "ops/journal_words.h"

#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace convstore::ops {

namespace {

using nlohmann::json;

json Parse(const std::string& text) {
  json j = json::parse(text.empty() ? "{}" : text, nullptr, false);
  return j.is_object() ? j : json::object();
}

std::string Text(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

int64_t Int(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string Plural(int64_t n, const char* one, const char* many) { return fmt::format("{} {}", n, n == 1 ? one : many); }

struct Conversation {
  std::string uid;
  std::string title;
};

// "conversation <uid> "<title>"", from the batch's changes or the current table; and which conversation a
// message belongs to.
class ConversationNames {
 public:
  explicit ConversationNames(sqlite::Connection& conn) : conn_(conn) {}
  void Learn(int64_t id, const json& row) {
    if (!Text(row, "uid").empty()) known_[id] = {Text(row, "uid"), Text(row, "title")};
  }
  void LearnMessage(int64_t message, const json& row) {
    if (Int(row, "conversation_id") != 0) owners_[message] = Int(row, "conversation_id");
  }
  // Every conversation and message row the entries carry whole (inserts and deletes).
  void LearnFrom(const std::vector<JournalEntry>& entries) {
    for (const JournalEntry& e : entries)
      for (const JournalChange& c : e.changes) {
        if (c.op == ChangeOp::kUpdate) continue;
        const json key = Parse(c.key_json), row = Parse(c.op == ChangeOp::kInsert ? c.new_json : c.old_json);
        if (c.table == "conversations") Learn(Int(key, "id"), row);
        else if (c.table == "messages") LearnMessage(Int(key, "id"), row);
      }
  }
  // The conversation of a message (0 when unknown).
  Result<int64_t> OwnerOf(int64_t message) {
    auto it = owners_.find(message);
    if (it != owners_.end()) return it->second;
    auto owner = conn_.QueryInt("SELECT conversation_id FROM messages WHERE id = ?1", "journal words: message", message);
    if (!owner.ok()) return owner.status();
    return owners_[message] = owner->value_or(0);
  }
  Result<std::string> Name(int64_t id) {
    auto it = known_.find(id);
    if (it == known_.end()) {
      auto row = conn_.QueryRow("SELECT uid, title FROM conversations WHERE id = ?1", "journal words: conversation",
                                [](const sqlite::Stmt& st) { return Conversation{st.String(0), st.String(1)}; }, id);
      if (!row.ok()) return row.status();
      it = known_.emplace(id, row->value_or(Conversation{fmt::format("#{}", id), ""})).first;
    }
    const Conversation& c = it->second;
    return c.title.empty() ? fmt::format("conversation {}", c.uid)
                           : fmt::format("conversation {} \"{}\"", c.uid, c.title);
  }

 private:
  sqlite::Connection& conn_;
  std::map<int64_t, Conversation> known_;
  std::map<int64_t, int64_t> owners_;
};

const char* MarkerSentence(JournalEntryKind kind) {
  switch (kind) {
    case JournalEntryKind::kForeignWrite:
      return "another program wrote the file (not journaled: a point-in-time restore cannot cross this)";
    case JournalEntryKind::kJournalOff: return "the journal was turned off (writes after this are not recorded)";
    case JournalEntryKind::kJournalOn: return "the journal was turned on again";
    case JournalEntryKind::kSchemaMigration: return "the schema was migrated";
    case JournalEntryKind::kRestored: return "the store was restored (a new history starts here)";
    case JournalEntryKind::kErasure: return "a user was erased (what was removed is withheld from this entry)";
    default: return "";
  }
}

const char* Verb(ChangeOp op) {
  switch (op) {
    case ChangeOp::kInsert: return "inserted";
    case ChangeOp::kUpdate: return "updated";
    default: return "deleted";
  }
}

Result<std::vector<std::string>> DescribeEntry(ConversationNames& names, const JournalEntry& entry) {
  std::vector<std::string> lines;
  if (entry.kind != JournalEntryKind::kChanges) {
    lines.push_back(entry.kind == JournalEntryKind::kSchemaMigration
                        ? fmt::format("the schema was migrated to version {}", entry.schema_version)
                        : MarkerSentence(entry.kind));
    return lines;
  }
  std::vector<int64_t> created, deleted;
  std::map<int64_t, int64_t> added, removed, edited;  // conversation id -> messages
  std::set<int64_t> deleted_set;
  std::map<std::string, int64_t> other;  // "updated 2 rows in prices" style counts, keyed by "verb|table"
  std::vector<std::string> named;        // sentences naming one record (users, teams, budgets, prices)
  int64_t audit_entries = 0;
  for (const JournalChange& c : entry.changes) {
    const json key = Parse(c.key_json), before = Parse(c.old_json), after = Parse(c.new_json);
    if (c.table == "conversations") {
      const int64_t id = Int(key, "id");
      if (c.op == ChangeOp::kInsert) {
        names.Learn(id, after);
        created.push_back(id);
      } else if (c.op == ChangeOp::kDelete) {
        names.Learn(id, before);
        deleted.push_back(id);
        deleted_set.insert(id);
      } else if (after.contains("title") || after.contains("archived") || after.contains("metadata") ||
                 after.contains("system_prompt") || after.contains("model")) {
        other["updated|conversation settings"]++;
      }
      continue;
    }
    if (c.table == "messages") {
      const json& row = c.op == ChangeOp::kInsert ? after : before;
      int64_t conversation = Int(row, "conversation_id");
      if (c.op == ChangeOp::kInsert) added[conversation]++;
      else if (c.op == ChangeOp::kDelete) removed[conversation]++;
      else {
        // An update names only the changed columns: the message's conversation is looked up.
        auto owner = names.OwnerOf(Int(key, "id"));
        if (!owner.ok()) return owner.status();
        edited[*owner]++;
      }
      continue;
    }
    if (c.table == "users" || c.table == "teams") {
      const std::string who = Text(c.op == ChangeOp::kDelete ? before : after, "key");
      named.push_back(fmt::format("{} {} {}", Verb(c.op), c.table == "users" ? "user" : "team",
                                  who.empty() ? key.dump() : who));
      continue;
    }
    if (c.table == "budgets") {
      const std::string name = Text(c.op == ChangeOp::kDelete ? before : after, "name");
      named.push_back(fmt::format("{} budget {}", c.op == ChangeOp::kInsert ? "created" : Verb(c.op),
                                  name.empty() ? key.dump() : "\"" + name + "\""));
      continue;
    }
    if (c.table == "prices") {
      const std::string model = Text(c.op == ChangeOp::kDelete ? before : after, "model");
      named.push_back(fmt::format("{} the price of {}", c.op == ChangeOp::kInsert ? "added" : Verb(c.op),
                                  model.empty() ? key.dump() : model));
      continue;
    }
    if (c.table == "api_usage") {
      other[std::string(c.op == ChangeOp::kInsert ? "recorded" : Verb(c.op)) + "|API usage rows"]++;
      continue;
    }
    if (c.table == "audit_log") {
      // An entry convstore writes beside a change says what the change's own sentence says; an application's
      // entry alone is worth a line (below).
      if (c.op == ChangeOp::kInsert) ++audit_entries;
      else other[std::string(c.op == ChangeOp::kDelete ? "removed" : "removed personal fields from") + "|audit entries"]++;
      continue;
    }
    if (c.table == "message_tombstones" || c.table == "schema_migrations" || c.table == "meta" ||
        c.table == "user_pseudonyms" || c.table == "audit_state")
      continue;
    other[std::string(Verb(c.op)) + "|rows in " + c.table]++;
  }
  for (int64_t id : created) {
    auto name = names.Name(id);
    if (!name.ok()) return name.status();
    lines.push_back("created " + *name);
  }
  for (int64_t id : deleted) {
    auto name = names.Name(id);
    if (!name.ok()) return name.status();
    lines.push_back(fmt::format("deleted {} ({})", *name, Plural(removed[id], "message", "messages")));
  }
  auto per_conversation = [&](const std::map<int64_t, int64_t>& counts, const char* verb,
                              const char* preposition) -> Status {
    for (const auto& [id, n] : counts) {
      if (deleted_set.count(id) != 0 && std::string(verb) == "deleted") continue;  // said with the conversation
      if (id == 0) {
        lines.push_back(fmt::format("{} {}", verb, Plural(n, "message", "messages")));
        continue;
      }
      auto name = names.Name(id);
      if (!name.ok()) return name.status();
      lines.push_back(fmt::format("{} {} {} {}", verb, Plural(n, "message", "messages"), preposition, *name));
    }
    return Status::OK();
  };
  if (Status s = per_conversation(added, "added", "to"); !s.ok()) return s;
  if (Status s = per_conversation(removed, "deleted", "from"); !s.ok()) return s;
  if (Status s = per_conversation(edited, "edited", "in"); !s.ok()) return s;
  for (auto& n : named) lines.push_back(std::move(n));
  for (const auto& [what, n] : other) {
    const size_t bar = what.find('|');
    lines.push_back(fmt::format("{} {} {}", what.substr(0, bar), n, what.substr(bar + 1)));
  }
  if (lines.empty() && audit_entries > 0)
    lines.push_back(fmt::format("recorded {}", Plural(audit_entries, "audit entry", "audit entries")));
  if (lines.empty()) lines.push_back(fmt::format("{} internal rows changed", entry.changes.size()));
  return lines;
}

}  // namespace

Result<std::vector<std::vector<std::string>>> DescribeEntries(sqlite::Connection& conn,
                                                              const std::vector<JournalEntry>& entries) {
  ConversationNames names(conn);
  names.LearnFrom(entries);
  std::vector<std::vector<std::string>> out;
  for (const JournalEntry& e : entries) {
    auto lines = DescribeEntry(names, e);
    if (!lines.ok()) return lines.status();
    out.push_back(std::move(*lines));
  }
  return out;
}

}  // namespace convstore::ops
