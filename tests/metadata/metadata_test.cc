// jsonb containment semantics (the groundwork of the metadata indexer): each case is PostgreSQL's answer to
// `doc::jsonb @> query::jsonb`, from the PostgreSQL documentation's examples and the rules of JsonbDeepContains.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "metadata/containment.h"

namespace convstore {
namespace {

struct Case {
  const char* doc;
  const char* query;
  bool contains;
};

const Case kCases[] = {
    // PostgreSQL documentation, "jsonb Containment and Existence".
    {R"("foo")", R"("foo")", true},
    {R"([1, 2, 3])", R"([1, 3])", true},
    {R"([1, 2, 3])", R"([3, 1])", true},
    {R"([1, 2, 3])", R"([1, 2, 2])", true},
    {R"({"product": "PostgreSQL", "version": 9.4, "jsonb": true})", R"({"version": 9.4})", true},
    {R"([1, 2, [1, 3]])", R"([1, 3])", false},
    {R"([1, 2, [1, 3]])", R"([[1, 3]])", true},
    {R"({"foo": {"bar": "baz"}})", R"({"bar": "baz"})", false},
    {R"({"foo": {"bar": "baz"}})", R"({"foo": {}})", true},
    {R"(["foo", "bar"])", R"("foo")", true},
    {R"("foo")", R"(["foo"])", false},
    // Scalars by type and value.
    {R"({"a": 1})", R"({"a": "1"})", false},
    {R"({"a": 1})", R"({"a": 1.0})", true},
    {R"({"a": 1.5})", R"({"a": 1.50})", true},
    {R"({"a": 1})", R"({"a": true})", false},
    {R"({"a": null})", R"({"a": null})", true},
    {R"({"a": null})", R"({"a": false})", false},
    {R"({"a": false})", R"({"a": false})", true},
    {R"({"a": 9223372036854775807})", R"({"a": 9223372036854775806})", false},
    {R"({"a": 18446744073709551615})", R"({"a": 18446744073709551615})", true},
    {R"({"a": 1e2})", R"({"a": 100})", true},
    // Objects: recursive subset; kinds must match at nested levels (no bare-scalar rule there).
    {R"({"a": [1, 2]})", R"({"a": 1})", false},
    {R"({"a": [1, 2]})", R"({"a": [2]})", true},
    {R"({"a": {"b": [1, {"c": 2}]}})", R"({"a": {"b": [{"c": 2}]}})", true},
    {R"({"a": {"b": [1, {"c": 2}]}})", R"({"a": {"b": [{"c": 3}]}})", false},
    {R"({"a": 1})", R"({})", true},
    {R"({})", R"({"a": 1})", false},
    {R"({"a": {}})", R"({"a": {}})", true},
    {R"({"a": []})", R"({"a": []})", true},
    {R"({"a": [1]})", R"({"a": {}})", false},
    {R"({"a": {}})", R"({"a": []})", false},
    // Arrays: every query element in some document element; scalars only match scalars.
    {R"([])", R"([])", true},
    {R"([1])", R"([])", true},
    {R"([])", R"([1])", false},
    {R"([[1, 2], [3]])", R"([[2]])", true},
    {R"([[1, 2], [3]])", R"([[1, 3]])", false},
    {R"([{"a": 1, "b": 2}])", R"([{"a": 1}])", true},
    {R"([{"a": 1}])", R"({"a": 1})", false},
    {R"({"a": 1})", R"([{"a": 1}])", false},
    {R"([1, "1"])", R"(["1", 1])", true},
    {R"([[1]])", R"([1])", false},
    // Bare scalars at the top level.
    {R"(1)", R"(1.0)", true},
    {R"(1)", R"("1")", false},
    {R"(null)", R"(null)", true},
    {R"([null])", R"(null)", true},
    {R"("a")", R"([])", false},
    {R"([["a"]])", R"("a")", false},
    // Unicode keys, keys with dots and quotes are plain keys.
    {R"({"é.x\"y": {"日本": true}})", R"({"é.x\"y": {"日本": true}})", true},
    {R"({"a.b": 1})", R"({"a": {"b": 1}})", false},
};

TEST(ContainmentTest, MatchesPostgresJsonbContainment) {
  for (const Case& c : kCases) {
    auto doc = nlohmann::json::parse(c.doc);
    auto query = nlohmann::json::parse(c.query);
    EXPECT_EQ(metadata::Contains(doc, query), c.contains) << c.doc << " @> " << c.query;
  }
}

TEST(ContainmentTest, ContainmentIsReflexive) {
  for (const Case& c : kCases) {
    auto doc = nlohmann::json::parse(c.doc);
    EXPECT_TRUE(metadata::Contains(doc, doc)) << c.doc;
  }
}

}  // namespace
}  // namespace convstore

#include <random>

#include "metadata/filter.h"
#include "metadata/document_terms.h"
#include "metadata/projection.h"

namespace convstore {
namespace {

using nlohmann::json;

TEST(PostingsTest, PathsSkipArraysAndValuesAreCanonical) {
  auto doc = json::parse(R"({"source": "cli", "tags": ["a", {"k": 1.0}], "n": {"x": null, "y": true}, "e": {}})");
  // Existence postings only for keys holding an object or array.
  std::vector<metadata::Posting> want = {
      {"1:e", ""},       {"1:n", ""},          {"1:n1:x", "z"}, {"1:n1:y", "t"},
      {"4:tags", ""},    {"4:tags", "s:a"},    {"4:tags1:k", "n:1"}, {"6:source", "s:cli"}};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(metadata::Flatten(doc), want);
  EXPECT_EQ(metadata::CanonicalValue(json::parse("1")), metadata::CanonicalValue(json::parse("1.0")));
  EXPECT_EQ(metadata::CanonicalValue(json::parse("1e19")), metadata::CanonicalValue(json::parse("10000000000000000000")));
  EXPECT_NE(metadata::CanonicalValue(json::parse("1")), metadata::CanonicalValue(json::parse("\"1\"")));
  EXPECT_EQ(metadata::CanonicalValue(json::parse("0.1")), "n:0.1");
  // Long strings: prefix + hash, cut on a character boundary; different strings with one prefix differ.
  std::string long_a = std::string(47, 'x') + "\xc3\xa9" + std::string(100, 'a');
  std::string long_b = std::string(47, 'x') + "\xc3\xa9" + std::string(100, 'b');
  auto ca = metadata::CanonicalValue(json(long_a)), cb = metadata::CanonicalValue(json(long_b));
  EXPECT_NE(ca, cb);
  EXPECT_EQ(ca.substr(0, 2), "h:");
  EXPECT_EQ(ca.find("\xc3"), std::string::npos);  // the 2-byte character straddling byte 48 is left out whole
  // Keys with dots, quotes and colons cannot collide with nesting.
  EXPECT_NE(metadata::Flatten(json::parse(R"({"a.b": 1})")), metadata::Flatten(json::parse(R"({"a": {"b": 1}})")));
  EXPECT_NE(metadata::EncodePath({"1:a"}), metadata::EncodePath({"1", "a"}));
  // Excluded paths (and what is below them) are not indexed.
  auto excluded = metadata::Flatten(doc, {metadata::EncodePath({"tags"})});
  for (const auto& p : excluded) EXPECT_EQ(p.path.rfind("4:tags", 0), std::string::npos) << p.path;
}

// A random JSON value of bounded depth, drawing keys and scalars from small sets so that queries hit.
json RandomValue(std::mt19937_64& rng, int depth) {
  static const char* kKeys[] = {"a", "b", "c", "é", "a.b", "q\"k"};
  int kind = static_cast<int>(rng() % (depth > 0 ? 8 : 5));
  switch (kind) {
    case 0: return nullptr;
    case 1: return rng() % 2 == 0;
    case 2: return static_cast<int>(rng() % 3);
    case 3: return rng() % 2 ? json(1.0) : json(2.5);
    case 4: return std::string(rng() % 2 ? "1" : "x");
    case 5:
    case 6: {
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

// A random sub-document of v: contained in it by construction.
json RandomPart(std::mt19937_64& rng, const json& v) {
  if (v.is_object()) {
    json o = json::object();
    for (auto it = v.begin(); it != v.end(); ++it)
      if (rng() % 2) o[it.key()] = RandomPart(rng, *it);
    return o;
  }
  if (v.is_array()) {
    json a = json::array();
    for (const json& e : v)
      if (rng() % 2) a.push_back(RandomPart(rng, e));
    return a;
  }
  return v;
}

// The property the index rests on: whenever doc @> query, every posting the query requires is among the doc's.
TEST(PostingsTest, ContainedQueriesRequireOnlyPostingsTheDocumentHas) {
  std::mt19937_64 rng(11);
  int contained = 0;
  for (int i = 0; i < 20000; ++i) {
    json doc = json::object();
    for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) doc["k" + std::to_string(rng() % 5)] = RandomValue(rng, 3);
    const bool part = rng() % 2 == 0;
    json query = part ? RandomPart(rng, doc) : json(json::object({{"k" + std::to_string(rng() % 5), RandomValue(rng, 2)}}));
    if (part) {
      ASSERT_TRUE(metadata::Contains(doc, query)) << doc.dump() << " @> " << query.dump();
    }
    if (!metadata::Contains(doc, query)) continue;
    ++contained;
    auto have = metadata::Flatten(doc);
    for (const auto& p : metadata::RequiredPostings(query))
      ASSERT_TRUE(std::binary_search(have.begin(), have.end(), p))
          << "doc " << doc.dump() << " @> query " << query.dump() << " but lacks posting " << p.path << " = " << p.value;
  }
  EXPECT_GT(contained, 10000);
}

// A filter decides the same on the stored text (only the top-level members it names parsed) as on the whole
// parsed document, for containment and every path operator; and the projection is the document restricted to
// those members.
TEST(ProjectionTest, MatchesTextAgreesWithTheWholeDocument) {
  std::mt19937_64 rng(23);
  const char* const ops[] = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$exists"};
  int matched = 0;
  for (int i = 0; i < 20000; ++i) {
    json doc = json::object();
    for (int k = 0, n = static_cast<int>(rng() % 6); k < n; ++k) doc["k" + std::to_string(rng() % 5)] = RandomValue(rng, 3);
    if (rng() % 5 == 0) doc["we\"ird\u00e9"] = RandomValue(rng, 1);
    const std::string text = doc.dump();
    std::string contains, where;
    if (rng() % 2) contains = (rng() % 2 ? RandomPart(rng, doc) : json(json::object({{"k" + std::to_string(rng() % 5), RandomValue(rng, 2)}}))).dump();
    if (rng() % 2) {
      json w = json::object();
      const char* op = ops[rng() % 7];
      json value = std::string(op) == "$exists" ? json(rng() % 2 == 0) : RandomValue(rng, 1);
      if (std::string(op) != "$eq" && std::string(op) != "$ne" && std::string(op) != "$exists" && !value.is_number() &&
          !value.is_string())
        value = 3;
      w["k" + std::to_string(rng() % 5) + (rng() % 3 == 0 ? ".k1" : "")] = json::object({{op, value}});
      where = w.dump();
    }
    auto f = metadata::CompileFilter(contains, where);
    ASSERT_TRUE(f.ok()) << f.status().ToString() << " " << contains << " " << where;
    const bool whole = f->Matches(doc);
    EXPECT_EQ(f->MatchesText(text), whole) << text << " contains " << contains << " where " << where;
    matched += whole;
  }
  EXPECT_GT(matched, 3000);
  // The projection itself.
  auto p = metadata::ParseMembers(R"({"a":{"x":[1,"}]"]},"b\"q":2,"c":"s\\","d":null})", {"b\"q", "d"});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->dump(), R"({"b\"q":2,"d":null})");
  for (const char* bad : {"[1]", "{", R"({"a":1,})", R"({"a" 1})", R"({"a":"x})", "{}x"})
    EXPECT_FALSE(metadata::ParseMembers(bad, {"a"}).has_value()) << bad;
}

}  // namespace
}  // namespace convstore
