// Internal helpers: UTF-8, ISO-8601 time, exact money, UUIDv7, list cursors, JSON depth.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "convstore/limits.h"
#include "convstore/status.h"
#include "records/cursor.h"
#include "util/json_check.h"
#include "util/json_input.h"
#include "util/marker_file.h"
#include "util/money.h"
#include "util/time.h"
#include "util/utf8.h"
#include "util/uuid.h"

namespace convstore {
namespace {

// A marker is held while its holder lives, taken over when it is stale, removed on release; a child forked while
// it is held does not keep it locked after the holder dies without releasing it.
TEST(MarkerFileTest, HeldWhileItsHolderLivesAndNotByAForkedChild) {
  char dir_template[] = "/tmp/convstore-marker-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/store.db-migrate";
  EXPECT_EQ(util::MarkerFile::HolderOf(path), std::nullopt);
  {
    auto held = util::MarkerFile::Acquire(path, "first", nullptr);
    ASSERT_TRUE(held.ok());
    EXPECT_EQ(util::MarkerFile::HolderOf(path), std::optional<std::string>("first"));
  }
  EXPECT_EQ(::access(path.c_str(), F_OK), -1);  // removed on release
  FILE* stale = std::fopen(path.c_str(), "w");  // left by a holder that died: not locked
  ASSERT_NE(stale, nullptr);
  std::fputs("dead", stale);
  std::fclose(stale);
  EXPECT_EQ(util::MarkerFile::HolderOf(path), std::nullopt);
  EXPECT_TRUE(util::MarkerFile::Acquire(path, "second", nullptr).ok());

  // A holder that forks a long-lived child, then dies without releasing: the marker is free at once.
  const pid_t holder = ::fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    auto held = util::MarkerFile::Acquire(path, "holder", nullptr);
    if (!held.ok()) ::_exit(2);
    if (::fork() == 0) {  // the grandchild outlives its parent
      std::this_thread::sleep_for(std::chrono::seconds(6));
      ::_exit(0);
    }
    ::_exit(0);  // dies holding the marker: no destructor runs
  }
  int status = 0;
  ASSERT_EQ(::waitpid(holder, &status, 0), holder);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // The grandchild closes its copy of the descriptor when it first runs after the fork, which may be a moment
  // after its parent exited: free within 3 s, while it lives on for 6.
  auto free_at = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (util::MarkerFile::HolderOf(path).has_value() && std::chrono::steady_clock::now() < free_at)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(util::MarkerFile::HolderOf(path), std::nullopt) << "the forked child kept the marker locked";
  EXPECT_TRUE(util::MarkerFile::Acquire(path, "after", nullptr).ok());
  std::remove(path.c_str());
  ::rmdir(dir_template);
}

TEST(Utf8Test, AcceptsValidAndRefusesInvalid) {
  EXPECT_TRUE(util::IsValidUtf8(""));
  EXPECT_TRUE(util::IsValidUtf8("plain ascii text that is longer than eight bytes"));
  EXPECT_TRUE(util::IsValidUtf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"));  // é € 😀
  EXPECT_FALSE(util::IsValidUtf8("\xff"));
  EXPECT_FALSE(util::IsValidUtf8("\xc3"));                // truncated
  EXPECT_FALSE(util::IsValidUtf8("\xc0\x80"));            // overlong NUL
  EXPECT_FALSE(util::IsValidUtf8("\xed\xa0\x80"));        // surrogate
  EXPECT_FALSE(util::IsValidUtf8("\xf4\x90\x80\x80"));    // above U+10FFFF
  EXPECT_FALSE(util::IsValidUtf8("12345678\x80"));        // after the ASCII fast path
}

TEST(Utf8Test, EscapesInvalidBytesOnly) {
  EXPECT_EQ(util::EscapeInvalidUtf8("plain \xc3\xa9"), "plain \xc3\xa9");
  EXPECT_EQ(util::EscapeInvalidUtf8("a\xff" "b\xc5"), "a\\xffb\\xc5");
  EXPECT_EQ(util::EscapeInvalidUtf8("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  EXPECT_TRUE(util::IsValidUtf8(util::EscapeInvalidUtf8("\xf0\x9f\x98\x80\xf0\x9f")));
}

TEST(JsonCheckTest, ExactlyOneValidValue) {
  using util::CheckJsonText;
  using util::JsonKind;
  EXPECT_EQ(CheckJsonText("{}"), JsonKind::kObject);
  EXPECT_EQ(CheckJsonText(R"({"a":[1,-2.5e3,true,null,"x\u00e9\ud83d\ude00"],"b":{}})"), JsonKind::kObject);
  EXPECT_EQ(CheckJsonText(" [ 1 , 2 ] "), JsonKind::kArray);
  EXPECT_EQ(CheckJsonText("\"h\u00e9\""), JsonKind::kString);
  EXPECT_EQ(CheckJsonText("0"), JsonKind::kNumber);
  EXPECT_EQ(CheckJsonText("null"), JsonKind::kNull);
  for (const char* bad : {"", " ", R"({"source":"cli"},"title":"INJECTED","user":"mallory","zz":{})", "[1,2", "{",
                          "}", "[1,]", "{\"a\"}", "{\"a\":}", "{a:1}", "01", "1.", ".5", "-", "1e", "tru", "nul",
                          "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\nb\"",
                          "\"\xff\"", "\"\xc0\x80\"", "\"\xed\xa0\x80\"", "[1]]", "{}{}", "[1] x", "'a'"})
    EXPECT_EQ(CheckJsonText(bad), JsonKind::kInvalid) << bad;
  EXPECT_EQ(CheckJsonText(std::string(300, '[') + std::string(300, ']')), JsonKind::kInvalid);
  EXPECT_EQ(CheckJsonText(std::string(100, '[') + std::string(100, ']')), JsonKind::kArray);
}

// `s` with one to three random edits (a byte erased, inserted or replaced by one from `alphabet`).
std::string Mutated(std::string s, const std::string& alphabet, std::mt19937& rng) {
  for (int k = 0, edits = 1 + static_cast<int>(rng() % 3); k < edits && !s.empty(); ++k) {
    size_t at = rng() % s.size();
    switch (rng() % 3) {
      case 0: s.erase(at, 1); break;
      case 1: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), alphabet[rng() % alphabet.size()]); break;
      default: s[at] = alphabet[rng() % alphabet.size()];
    }
  }
  return s;
}

// Agrees with nlohmann's parser on random mutations of valid documents.
TEST(JsonCheckTest, AgreesWithAFullParserOnRandomMutations) {
  const std::string seeds[] = {R"({"a":[1,2.5,{"b":null}],"c":"d\u0041","e":true})", R"([{"k":-0.5e-3},[],""])",
                               "{\"\u00fc\":\"\u65e5\u672c\"}"};
  std::mt19937 rng(7);
  const std::string alphabet = "{}[],:\"\\0123456789.-+eE truefalsnul\x80\xc3\xbc\xff\x01";
  int checked = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string s = Mutated(seeds[rng() % 3], alphabet, rng);
    const bool ours = util::CheckJsonText(s) != util::JsonKind::kInvalid;
    bool theirs = true;
    try {
      auto parsed = nlohmann::json::parse(s);
      (void)parsed;
    } catch (const nlohmann::json::out_of_range&) {
      continue;  // a number beyond a double: valid JSON text, which nlohmann cannot hold
    } catch (const nlohmann::json::exception&) {
      theirs = false;
    }
    EXPECT_EQ(ours, theirs) << s;
    ++checked;
  }
  EXPECT_GT(checked, 19000);
}

// dump(parse(s)), or nullopt when s does not parse.
std::optional<std::string> Reprinted(const std::string& s) {
  try {
    return nlohmann::json::parse(s).dump();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

TEST(JsonStoredFormTest, RecognisesExactlyWhatPrintsBackUnchanged) {
  const char* stored[] = {"{}", "[]", R"({"a":1,"b":[true,false,null],"c":{"d":"e"}})", R"({"":0,"a":-9223372036854775808})",
                          R"({"n":18446744073709551615})", "{\"k\":\"caf\xc3\xa9 \\\" \\\\ \\n\\t\\u0001\"}",
                          R"({"A":1,"B":2,"a":3})", "\"text\"", "0", "-1"};
  for (const char* s : stored) {
    EXPECT_TRUE(util::IsStoredFormJson(s, 64, false)) << s;
    EXPECT_EQ(Reprinted(s), std::string(s)) << s;
  }
  const char* not_stored[] = {"{ }", R"({"b":1,"a":2})", R"({"a":1,"a":2})", R"({"a":1.5})", R"({"a":1e3})",
                              R"({"a":-0})", R"({"a":01})", R"({"a":18446744073709551616})", R"({"a":"\/"})",
                              R"({"a":"\u0041"})", R"({"a":"\u001F"})", R"({"a":"\u000a"})", "{\"a\":\"\x01\"}",
                              "{\"a\":\"\xff\"}", R"({"a":1} )", R"({"a":1}{})", R"({"a":tru})", "", "{"};
  for (const char* s : not_stored) EXPECT_FALSE(util::IsStoredFormJson(s, 64, false)) << s;
  EXPECT_FALSE(util::IsStoredFormJson("[]", 64, true));
  EXPECT_TRUE(util::IsStoredFormJson(R"({"a":[[1]]})", 3, true));
  EXPECT_FALSE(util::IsStoredFormJson(R"({"a":[[1]]})", 2, true));
}

TEST(JsonStoredFormTest, AcceptsOnlyTextThatAParserPrintsBackByteForByte) {
  const std::string seeds[] = {R"({"a":[1,2,{"b":null}],"c":"d\n\u0001","e":true})", R"([{"k":-5},[],""])",
                               "{\"z\":{\"y\":[0,18446744073709551615]},\"\xc3\xbc\":\"\xe6\x97\xa5\"}"};  // keys in byte order
  std::mt19937 rng(11);
  const std::string alphabet = "{}[],:\"\\0123456789.-+eEu truefalsnul\x7f\x80\xc3\xbc\xff\x01" "abAB/";
  int accepted = 0;
  for (const std::string& seed : seeds) EXPECT_TRUE(util::IsStoredFormJson(seed, 64, false)) << seed;
  for (int round = 0; round < 50000; ++round) {
    std::string s = Mutated(seeds[rng() % 3], alphabet, rng);
    if (!util::IsStoredFormJson(s, 64, false)) continue;
    ++accepted;
    EXPECT_EQ(Reprinted(s), s);  // accepted: stored as given must equal what the parser path would store
  }
  EXPECT_GT(accepted, 1000);
}

TEST(TimeTest, SaysWhatIsWrongWithATime) {
  int64_t out = 0;
  auto problem = [&](const char* text) { return std::string(util::Iso8601Error(text, out) ? util::Iso8601Error(text, out) : ""); };
  EXPECT_NE(problem("2016-12-31T23:59:60Z").find("leap second"), std::string::npos);
  EXPECT_NE(problem("2026-01-02 03:04:05").find("no offset"), std::string::npos);
  EXPECT_NE(problem("2026-02-30T00:00:00Z").find("not in its month"), std::string::npos);
  EXPECT_NE(problem("2026-13-01T00:00:00Z").find("month"), std::string::npos);
  EXPECT_NE(problem("1969-12-31T23:59:59Z").find("before 1970"), std::string::npos);
  EXPECT_NE(problem("2026-01-01T00:00:00+25:00").find("offset"), std::string::npos);
  EXPECT_NE(problem("yesterday").find("ISO-8601"), std::string::npos);
  EXPECT_EQ(util::Iso8601Error("2016-12-31T23:59:59.999999Z", out), nullptr);
  EXPECT_EQ(out, 1483228799999999);
}

TEST(TimeTest, FormatsAndParsesIso8601) {
  EXPECT_EQ(util::FormatIso8601(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(util::FormatIso8601(1770800400123456), "2026-02-11T09:00:00.123456Z");
  EXPECT_EQ(util::ParseIso8601("2026-02-11T09:00:00.123456Z"), 1770800400123456);
  EXPECT_EQ(util::ParseIso8601("2026-02-11T10:00:00+01:00"), 1770800400000000);
  EXPECT_EQ(util::ParseIso8601("2026-02-11 09:00:00.1Z"), 1770800400100000);
  EXPECT_EQ(util::ParseIso8601("2024-02-29T00:00:00Z").has_value(), true);
  EXPECT_FALSE(util::ParseIso8601("2023-02-29T00:00:00Z"));
  EXPECT_FALSE(util::ParseIso8601("2026-02-11T09:00:00"));  // no offset
  EXPECT_FALSE(util::ParseIso8601("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(util::ParseIso8601("yesterday"));
  EXPECT_FALSE(util::ParseIso8601("1969-12-31T23:59:59Z"));
  EXPECT_FALSE(util::ParseIso8601("1973-03-03T09:46:39.999999Z"));  // below kMinTimestampUs
  EXPECT_FALSE(util::ParseIso8601("9999-12-31T23:59:59-01:00"));     // above kMaxTimestampUs
  for (int64_t t : {limits::kMinTimestampUs, int64_t{951782400000000}, limits::kMaxTimestampUs})
    EXPECT_EQ(util::ParseIso8601(util::FormatIso8601(t)), t);
}

TEST(MoneyTest, ExactDecimalRoundTrip) {
  EXPECT_EQ(util::FormatUsd(15'000'000), "0.015");
  EXPECT_EQ(util::FormatUsd(0), "0");
  EXPECT_EQ(util::FormatUsd(12'000'000'000), "12");
  EXPECT_EQ(util::FormatUsd(-1), "-0.000000001");
  EXPECT_EQ(util::FormatUsd(INT64_MIN), "-9223372036.854775808");
  EXPECT_EQ(util::ParseUsd("0.015"), 15'000'000);
  EXPECT_EQ(util::ParseUsd("12"), 12'000'000'000);
  EXPECT_EQ(util::ParseUsd(".5"), 500'000'000);
  EXPECT_EQ(util::ParseUsd("-1.000000001"), -1'000'000'001);
  EXPECT_FALSE(util::ParseUsd("0.0000000001"));  // 10 decimals
  EXPECT_FALSE(util::ParseUsd("1e3"));
  EXPECT_FALSE(util::ParseUsd("NaN"));
  EXPECT_FALSE(util::ParseUsd(""));
  EXPECT_FALSE(util::ParseUsd("99999999999999999999"));
  EXPECT_EQ(util::UsdDoubleToNano(0.015), 15'000'000);
  EXPECT_EQ(util::UsdDoubleToNano(0.1 + 0.2), 300'000'000);
  EXPECT_FALSE(util::UsdDoubleToNano(std::numeric_limits<double>::quiet_NaN()));
  EXPECT_FALSE(util::UsdDoubleToNano(1e20));
}

TEST(UuidTest, V7FormatAndOrder) {
  std::set<std::string> seen;
  std::string prev;
  for (int i = 0; i < 10000; ++i) {
    auto id = util::NewUuidV7(1770800400000000);  // same millisecond: the counter keeps them ordered
    ASSERT_EQ(id.size(), 36u);
    EXPECT_EQ(id[8], '-');
    EXPECT_EQ(id[14], '7');
    EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
    EXPECT_GT(id, prev);
    prev = id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(CursorTest, RoundTripsAndRefusesGarbage) {
  records::ListCursor c{1770800400000000, 42};
  auto d = records::DecodeCursor(records::EncodeCursor(c));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->updated_at, c.updated_at);
  EXPECT_EQ(d->row_id, 42);
  for (const char* bad : {"", "c1.", "c1.zz.1", "c2.1.1", "c1.1.0", "c1.1.", "c1.ffffffffffffffffff.1"})
    EXPECT_FALSE(records::DecodeCursor(bad)) << bad;
}

TEST(JsonInputTest, DepthAndNormalisation) {
  EXPECT_EQ(util::JsonDepth(R"({"a":[1,{"b":"[[[["}]})", 100), 3);
  EXPECT_EQ(util::JsonDepth(R"("\"{")", 100), 0);
  auto n = util::NormalizeJson(R"({ "b" : 1, "a" : [ true , null ] })", "m", 1000, true);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, R"({"a":[true,null],"b":1})");
  EXPECT_EQ(util::NormalizeJson("", "m", 1000, true).value(), "{}");
  EXPECT_EQ(util::NormalizeJson("[1]", "m", 1000, true).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(util::NormalizeJson("\"\xff\"", "m", 1000, false).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(util::NormalizeJson(std::string(70, '['), "m", 1000, false).status().code(), Code::kTooLarge);
}

}  // namespace
}  // namespace convstore

namespace convstore {
namespace {

TEST(UuidTest, ForkedChildDoesNotRepeatParentIds) {
  util::NewUuidV7(1770800400000000);  // seed this thread's generator in the parent
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string id = util::NewUuidV7(1770800400000000);
    (void)!::write(fds[1], id.data(), id.size());
    ::_exit(0);
  }
  std::string parent = util::NewUuidV7(1770800400000000);
  char buf[36];
  ASSERT_EQ(::read(fds[0], buf, sizeof buf), 36);
  ::waitpid(pid, nullptr, 0);
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_NE(std::string(buf, 36).substr(19), parent.substr(19));  // the random tails differ
}

// Every code up to kLastCode has its own stable name; the C ABI and Python check theirs against these.
TEST(CodeTest, EveryCodeHasItsOwnNameAndNoneBeyondTheLast) {
  std::set<std::string> names;
  for (int c = 0; c <= static_cast<int>(kLastCode); ++c) {
    std::string name = CodeName(static_cast<Code>(c));
    EXPECT_NE(name, "unknown") << c;
    EXPECT_TRUE(names.insert(name).second) << name;
  }
  EXPECT_STREQ(CodeName(static_cast<Code>(static_cast<int>(kLastCode) + 1)), "unknown");
}

// A dropped Status or Result is a compile warning ([[nodiscard]]); using the value of a failed Result aborts with
// its status instead of reading an empty optional.
TEST(ResultDeathTest, UsingTheValueOfAFailedResultAbortsWithItsStatus) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Result<std::string> failed(Status::NotFound("no user 'ana'"));
  EXPECT_DEATH((void)failed.value(), "the value of a failed Result was used: not_found: no user 'ana'");
  EXPECT_DEATH((void)failed->size(), "not_found");
  EXPECT_DEATH((void)*std::move(failed), "not_found");
  Result<std::string> fine(std::string("x"));
  EXPECT_EQ(*fine, "x");
}

}  // namespace
}  // namespace convstore
