// PostgreSQL 15 as the oracle of jsonb containment: thousands of random (document, query) pairs are asked of a
// throw-away PostgreSQL cluster (`doc::jsonb @> query::jsonb`) and of metadata::Contains; every answer must agree.
//
// The cluster lives in a temp directory, listens only on a Unix socket there, and is stopped at the end. As root,
// PostgreSQL's tools run as the `postgres` user (runuser). PostgreSQL comes from scripts/deps.sh (postgresql-15).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "metadata/containment.h"

namespace convstore {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* kPgBin = "/usr/lib/postgresql/15/bin";

// Runs a shell command (as postgres when we are root); returns its exit status and fills `out` with stdout.
int Run(const std::string& command, std::string* out = nullptr) {
  std::string full = geteuid() == 0 ? "runuser -u postgres -- " + command : command;
  FILE* p = popen((full + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  int rc = pclose(p);
  if (out) *out = std::move(text);
  return rc;
}

class PgCluster {
 public:
  PgCluster() {
    char tmpl[] = "/tmp/convstore-pg-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return;
    dir_ = tmpl;
    if (geteuid() == 0 && std::system(("chown postgres " + dir_).c_str()) != 0) return;
    port_ = std::to_string(20000 + getpid() % 20000);
    std::string log;
    if (Run(std::string(kPgBin) + "/initdb -D " + dir_ + "/data -E UTF8 --locale=C.UTF-8 -A trust -U postgres",
            &log) != 0) {
      error_ = "initdb failed: " + log;
      return;
    }
    if (Run(std::string(kPgBin) + "/pg_ctl -D " + dir_ + "/data -w -l " + dir_ + "/log -o \"-c listen_addresses='' -k " +
                dir_ + " -p " + port_ + "\" start",
            &log) != 0) {
      error_ = "pg_ctl start failed: " + log;
      return;
    }
    started_ = true;
  }
  ~PgCluster() {
    if (started_) Run(std::string(kPgBin) + "/pg_ctl -D " + dir_ + "/data -m immediate stop");
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  bool started() const { return started_; }
  const std::string& error() const { return error_; }

  // Runs an SQL file with psql; returns stdout (unaligned, tuples only).
  std::string Query(const std::string& sql) {
    std::string file = dir_ + "/query.sql";
    std::ofstream(file) << sql;
    if (geteuid() == 0) std::system(("chown postgres " + file).c_str());
    std::string out;
    int rc = Run("psql -X -q -At -v ON_ERROR_STOP=1 -h " + dir_ + " -p " + port_ + " -U postgres -d postgres -f " + file,
                 &out);
    EXPECT_EQ(rc, 0) << out;
    return out;
  }

 private:
  std::string dir_, port_, error_;
  bool started_ = false;
};

// Random JSON from small pools of keys and scalars (1 and 1.0 and "1" on purpose), arrays nested in arrays.
json RandomValue(std::mt19937_64& rng, int depth) {
  static const char* kKeys[] = {"a", "b", "é", "a.b", "q\"k", "日本"};
  int kind = static_cast<int>(rng() % (depth > 0 ? 9 : 6));
  switch (kind) {
    case 0: return nullptr;
    case 1: return rng() % 2 == 0;
    case 2: return static_cast<int>(rng() % 3);
    case 3: return rng() % 2 ? json(1.0) : json(2.5);
    case 4: return std::string(rng() % 2 ? "1" : "x");
    case 5: return rng() % 2 ? json(-0.5) : json(100);
    case 6:
    case 7: {
      json o = json::object();
      for (int i = 0, n = static_cast<int>(rng() % 4); i < n; ++i) o[kKeys[rng() % 6]] = RandomValue(rng, depth - 1);
      return o;
    }
    default: {
      json a = json::array();
      for (int i = 0, n = static_cast<int>(rng() % 4); i < n; ++i) a.push_back(RandomValue(rng, depth - 1));
      return a;
    }
  }
}

json RandomPart(std::mt19937_64& rng, const json& v) {
  if (v.is_object()) {
    json o = json::object();
    for (auto it = v.begin(); it != v.end(); ++it)
      if (rng() % 3) o[it.key()] = RandomPart(rng, *it);
    return o;
  }
  if (v.is_array()) {
    json a = json::array();
    for (const json& e : v)
      if (rng() % 3) a.push_back(RandomPart(rng, e));
    if (rng() % 4 == 0 && !v.empty()) a.push_back(RandomPart(rng, v[rng() % v.size()]));  // a duplicate
    return a;
  }
  return v;
}

std::string SqlLiteral(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

TEST(PgOracleTest, ContainmentAgreesWithPostgres) {
  if (!fs::exists(std::string(kPgBin) + "/initdb")) GTEST_SKIP() << "PostgreSQL 15 is not installed (scripts/deps.sh)";
  PgCluster pg;
  ASSERT_TRUE(pg.started()) << pg.error();
  std::mt19937_64 rng(2026);
  std::vector<std::pair<json, json>> pairs;
  for (int i = 0; i < 6000; ++i) {
    json doc = RandomValue(rng, 3);
    json query;
    switch (rng() % 4) {
      case 0: query = RandomPart(rng, doc); break;                 // mostly contained
      case 1: query = RandomValue(rng, 2); break;                  // mostly not
      case 2: query = doc.is_array() && !doc.empty() ? doc[rng() % doc.size()] : RandomValue(rng, 1); break;
      default: {                                                    // a part with one leaf changed
        query = RandomPart(rng, doc);
        if (query.is_object() && !query.empty()) query[query.begin().key()] = RandomValue(rng, 1);
      }
    }
    pairs.emplace_back(std::move(doc), std::move(query));
  }
  std::ostringstream sql;
  sql << "SELECT i, d::jsonb @> q::jsonb FROM (VALUES ";
  for (size_t i = 0; i < pairs.size(); ++i)
    sql << (i ? "," : "") << "(" << i << "," << SqlLiteral(pairs[i].first.dump()) << ","
        << SqlLiteral(pairs[i].second.dump()) << ")";
  sql << ") AS t(i, d, q) ORDER BY i;\n";
  std::istringstream answers(pg.Query(sql.str()));
  size_t checked = 0, contained = 0;
  for (std::string line; std::getline(answers, line);) {
    auto bar = line.find('|');
    ASSERT_NE(bar, std::string::npos) << line;
    size_t i = std::stoul(line.substr(0, bar));
    bool pg_says = line.substr(bar + 1) == "t";
    ASSERT_LT(i, pairs.size());
    EXPECT_EQ(metadata::Contains(pairs[i].first, pairs[i].second), pg_says)
        << pairs[i].first.dump() << " @> " << pairs[i].second.dump() << ": PostgreSQL says " << pg_says;
    ++checked;
    contained += pg_says;
  }
  EXPECT_EQ(checked, pairs.size());
  EXPECT_GT(contained, pairs.size() / 5);  // both answers are well represented
  EXPECT_LT(contained, pairs.size() * 4 / 5);
  std::printf("PostgreSQL oracle: %zu pairs checked, %zu contained\n", checked, contained);
}

}  // namespace
}  // namespace convstore
