#include "schema/schema_check.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <set>

#include "util/status_macros.h"

namespace convstore::schema {

namespace {

// The statement Migrate runs first on every file (it must match for the reference to match).
constexpr const char* kMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);";

Result<std::vector<SchemaObject>> ReadSchema(sqlite::Connection& conn) {
  auto st = conn.Prepare(
      "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
      " ORDER BY name");
  if (!st.ok()) return st.status();
  std::vector<SchemaObject> out;
  for (;;) {
    auto row = st->Step("read the schema");
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back({st->String(0), st->String(1), st->String(2), st->String(3)});
  }
}

// Column names of a table, in order.
Result<std::vector<std::string>> Columns(sqlite::Connection& conn, const std::string& table) {
  auto st = conn.Prepare("SELECT name FROM pragma_table_xinfo(?1)");
  if (!st.ok()) return st.status();
  st->Bind(1, table);
  std::vector<std::string> out;
  for (;;) {
    auto row = st->Step("read a table's columns");
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(st->String(0));
  }
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Quote(const std::string& name) {
  std::string q = "\"";
  for (char c : name) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// The words of `sql` (identifiers, unquoted or quoted) that are among `names` (lower case).
std::vector<std::string> NamesIn(const std::string& sql, const std::set<std::string>& names) {
  std::vector<std::string> found;
  std::string word;
  auto flush = [&] {
    if (!word.empty() && names.count(Lower(word))) found.push_back(word);
    word.clear();
  };
  for (char c : sql) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') word += c;
    else flush();
  }
  flush();
  return found;
}

// Why a table's definition differs: its columns, when they differ, else its constraints.
std::string TableDifference(sqlite::Connection& conn, const std::string& table,
                            const std::vector<std::string>& expected_columns) {
  auto have = Columns(conn, table);
  if (!have.ok()) return fmt::format("table '{}' cannot be read ({})", table, have.status().message());
  std::vector<std::string> missing, extra;
  for (const std::string& c : expected_columns)
    if (std::find(have->begin(), have->end(), c) == have->end()) missing.push_back(c);
  for (const std::string& c : *have)
    if (std::find(expected_columns.begin(), expected_columns.end(), c) == expected_columns.end()) extra.push_back(c);
  if (!missing.empty()) return fmt::format("table '{}' lacks column '{}'", table, fmt::join(missing, "', '"));
  if (!extra.empty()) return fmt::format("table '{}' has a column convstore does not create: '{}'", table,
                                         fmt::join(extra, "', '"));
  return fmt::format("table '{}' has a definition that differs from convstore's (constraints or types)", table);
}

}  // namespace

Result<ReferenceSchema> BuildReferenceSchema(const std::vector<Migration>& migrations, int version) {
  static std::mutex mu;
  static std::map<std::string, ReferenceSchema> cache;  // by the migrations' SQL (tests use lists of their own)
  std::string key;
  for (const Migration& m : migrations)
    if (m.version <= version) key += fmt::format("{}:{}\n", m.version, m.sql);
  std::lock_guard lock(mu);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  sqlite::ConnectionConfig config;
  config.create = true;
  auto conn = sqlite::Connection::Open(":memory:", config);
  if (!conn.ok()) return conn.status();
  CONVSTORE_RETURN_IF_ERROR((*conn)->Exec(kMigrationsTable, "reference schema"));
  for (const Migration& m : migrations) {
    if (m.version > version) break;
    CONVSTORE_RETURN_IF_ERROR((*conn)->Exec(m.sql, fmt::format("reference schema {}", m.version)));
  }
  auto objects = ReadSchema(**conn);
  if (!objects.ok()) return objects.status();
  ReferenceSchema ref;
  ref.objects = std::move(*objects);
  for (const SchemaObject& o : ref.objects) {  // for messages that name a missing or extra column
    if (o.type != "table") continue;
    auto columns = Columns(**conn, o.name);
    if (!columns.ok()) return columns.status();
    ref.columns[o.name] = std::move(*columns);
  }
  cache.emplace(std::move(key), ref);
  return ref;
}

Status CheckSchema(sqlite::Connection& conn, const std::vector<Migration>& migrations, int version) {
  if (version <= 0) return Status::OK();
  auto reference = BuildReferenceSchema(migrations, version);
  if (!reference.ok()) return reference.status();
  auto file = ReadSchema(conn);
  if (!file.ok()) return file.status();

  std::map<std::string, const SchemaObject*> expected;  // by lower-case name (SQLite names are case-insensitive)
  std::set<std::string> own_tables;
  for (const SchemaObject& o : reference->objects) {
    expected[Lower(o.name)] = &o;
    if (o.type == "table") own_tables.insert(Lower(o.name));
  }
  std::vector<std::string> problems;
  std::set<std::string> seen;
  for (const SchemaObject& f : *file) {
    const std::string key = Lower(f.name);
    auto it = expected.find(key);
    if (it != expected.end()) {
      seen.insert(key);
      const SchemaObject& want = *it->second;
      if (f.type != want.type)
        problems.push_back(fmt::format("'{}' is a {}; convstore's is a {}", f.name, f.type, want.type));
      else if (f.sql != want.sql)
        problems.push_back(f.type == "table" ? TableDifference(conn, f.name, reference->columns[want.name])
                                             : fmt::format("{} '{}' differs from convstore's", f.type, f.name));
      continue;
    }
    const bool on_ours = own_tables.count(Lower(f.table)) != 0;
    if (f.type == "trigger" && on_ours) {
      problems.push_back(fmt::format("trigger '{}' on convstore's table '{}' (it would run inside convstore's writes)",
                                     f.name, f.table));
    } else if (f.type == "index" && on_ours) {
      problems.push_back(fmt::format("index '{}' on convstore's table '{}' was not created by convstore", f.name, f.table));
    } else if (f.type == "view") {
      // The tables it reads, from preparing it; a view convstore's connection cannot prepare (it uses the
      // application's functions, say) is judged by the words of its SQL instead.
      auto read = conn.TablesReadBy("SELECT * FROM main." + Quote(f.name));
      std::vector<std::string> tables = read.ok() ? *read : NamesIn(f.sql, own_tables);
      for (const std::string& t : tables)
        if (own_tables.count(Lower(t))) {
          problems.push_back(fmt::format("view '{}' reads convstore's table '{}'", f.name, t));
          break;
        }
    }
  }
  for (const auto& [key, want] : expected)
    if (!seen.count(key)) problems.push_back(fmt::format("{} '{}' is missing", want->type, want->name));
  if (problems.empty()) return Status::OK();
  const size_t shown = std::min<size_t>(problems.size(), 10);
  std::vector<std::string> head(problems.begin(), problems.begin() + static_cast<std::ptrdiff_t>(shown));
  return Status::Corruption(fmt::format(
      "the file's schema is not what convstore's migrations create (version {}): {}{}. An application may keep "
      "tables of its own in the file, but no trigger, index or view on convstore's tables",
      version, fmt::join(head, "; "), problems.size() > shown ? fmt::format("; and {} more", problems.size() - shown) : ""));
}

}  // namespace convstore::schema
