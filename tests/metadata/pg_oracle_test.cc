// PostgreSQL 15 as the oracle of jsonb containment: thousands of random (document, query) pairs are asked of a
// throw-away PostgreSQL cluster (`doc::jsonb @> query::jsonb`) and of metadata::Contains; every answer must agree.
//
// The cluster is a throw-away one (pg_cluster.h).
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
#include "pg_cluster.h"

namespace convstore {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

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
  if (!testing::PostgresInstalled()) GTEST_SKIP() << "PostgreSQL 15 is not installed (scripts/deps.sh)";
  testing::PgCluster pg;
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
