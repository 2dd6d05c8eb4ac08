// Paths and permissions: a path is a file path (never a SQLite URI), every file convstore creates is 0600
// whatever the name, names too long for SQLite's side files are refused before anything is created, and
// read-only opens (explicit, and of files or directories this process may not write).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "test_util.h"

namespace convstore {
namespace {

namespace fs = std::filesystem;
using testing::OpenOrDie;

// A fresh directory, removed (with everything in it) afterwards.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() / ("convstore-paths-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::set<std::string> Names() const {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(path_)) out.insert(e.path().filename().string());
    return out;
  }

 private:
  fs::path path_;
};

// Runs `body` with the working directory set to `dir`, and restores it.
void InDirectory(const fs::path& dir, const std::function<void()>& body) {
  const fs::path before = fs::current_path();
  fs::current_path(dir);
  body();
  fs::current_path(before);
}

mode_t ModeOf(const fs::path& p) {
  struct stat sb;
  EXPECT_EQ(::stat(p.c_str(), &sb), 0) << p;
  return sb.st_mode & 0777;
}

TEST(PathTest, NamesThatLookLikeUrisAreFileNamesAndEveryFileIsOwnerOnly) {
  const mode_t old_umask = ::umask(022);  // a permissive umask, so a file SQLite created itself would be 0644
  for (std::string name : {"file:secret.db", "file:secret.db?mode=memory", "file:x.db?vfs=unix-none&cache=shared",
                           "file::memory:", "file:%41.db", "FILE:upper.db", ":memory:x", "-dash.db", "sp ace.db",
                           "q?x#y.db", "ünïcødé.db", "semi;colon'quote.db"}) {
    SCOPED_TRACE(name);
    TempDir dir;
    InDirectory(dir.path(), [&] {
      std::string id;
      {
        auto s = OpenOrDie(name);
        auto c = s->CreateConversation({.user_key = "ana"});
        ASSERT_OK(c);
        id = c->id;
        ASSERT_OK(s->AddMessage(id, {.content = "kept"}));
        // Exactly the file and its side files, all 0600, all named after the path as given.
        EXPECT_EQ(dir.Names(), (std::set<std::string>{name, name + "-wal", name + "-shm"}));
        for (const std::string& n : dir.Names()) EXPECT_EQ(ModeOf(dir.path() / n), 0600u) << n;
      }
      auto s = OpenOrDie(name);
      auto got = s->GetConversation(id);
      ASSERT_OK(got);
      EXPECT_EQ(got->messages.at(0).content, "kept");
    });
  }
  ::umask(old_umask);
}

TEST(PathTest, ANameTooLongForTheSideFilesIsRefusedAndLeavesNothing) {
  TempDir dir;
  const std::string name(250, 'n');  // fits NAME_MAX, but name + "-journal" does not
  auto r = ConversationStore::Open((dir.path() / name).string());
  EXPECT_CODE(r, Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("-journal"), std::string::npos) << r.status().message();
  EXPECT_TRUE(dir.Names().empty());
  auto fits = ConversationStore::Open((dir.path() / std::string(247, 'n')).string());
  ASSERT_OK(fits);
  // An absolute path past SQLite's 512-byte limit: refused up front too.
  fs::path deep = dir.path();
  while (deep.string().size() < 520) deep /= std::string(60, 'd');
  fs::create_directories(deep);
  EXPECT_CODE(ConversationStore::Open((deep / "x.db").string()), Code::kInvalidArgument);
  EXPECT_FALSE(fs::exists(deep / "x.db"));
}

TEST(ReadOnlyTest, AReadOnlyOpenReadsAndRefusesEveryWrite) {
  TempDir dir;
  const std::string path = (dir.path() / "ro.db").string();
  std::string id;
  {
    auto s = OpenOrDie(path);
    id = s->CreateConversation({.user_key = "ana"})->id;
    ASSERT_OK(s->AddMessage(id, {.content = "hello", .cost_nanousd = 5}));
  }
  struct stat before;
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  Options o;
  o.read_only = true;
  auto s = ConversationStore::Open(path, o);
  ASSERT_OK(s);
  auto got = (*s)->GetConversation(id);
  ASSERT_OK(got);
  EXPECT_EQ(got->messages.at(0).content, "hello");
  auto sum = (*s)->GetCostSummary({.days = 1});
  ASSERT_OK(sum);
  EXPECT_EQ(sum->total_cost_nanousd, 5);
  EXPECT_CODE((*s)->AddMessage(id, {.content = "x"}), Code::kReadOnly);
  EXPECT_CODE((*s)->CreateConversation({.user_key = "bob"}), Code::kReadOnly);
  EXPECT_CODE((*s)->RecordApiUsage({.user_key = "ana", .model = "m"}), Code::kReadOnly);
  EXPECT_CODE((*s)->Reserve({.request_id = "r", .user_key = "ana", .estimated_cost_nanousd = 1}), Code::kReadOnly);
  EXPECT_CODE((*s)->RebuildRollups(), Code::kReadOnly);
  ASSERT_OK((*s)->VerifyRollups());
  s->reset();
  struct stat after;
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_EQ(after.st_size, before.st_size);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  // Never creates; an in-memory store cannot be read-only.
  EXPECT_CODE(ConversationStore::Open((dir.path() / "missing.db").string(), o), Code::kNotFound);
  EXPECT_FALSE(fs::exists(dir.path() / "missing.db"));
  EXPECT_CODE(ConversationStore::Open(":memory:", o), Code::kInvalidArgument);
}

// Runs `body` as an unprivileged user (root ignores permission bits) in a child process; the child's exit code
// is the number of failed checks, its stderr says which.
int AsUnprivileged(const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(100);
    ::_exit(std::min(body(), 99));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 101;
}

int Expect(bool ok, const char* what) {
  if (!ok) std::fprintf(stderr, "unprivileged check failed: %s\n", what);
  return ok ? 0 : 1;
}

TEST(ReadOnlyTest, FilesAndDirectoriesThisProcessMayNotWrite) {
  TempDir dir;
  const fs::path sub = dir.path() / "shared";
  fs::create_directories(sub);
  const std::string path = (sub / "x.db").string();
  std::string id;
  {
    auto s = OpenOrDie(path);
    id = s->CreateConversation({.user_key = "ana"})->id;
    ASSERT_OK(s->AddMessage(id, {.content = "hello"}));
  }
  ASSERT_FALSE(fs::exists(path + "-wal"));  // closed cleanly: only the WAL-mode file is left
  // Readable by everyone, writable by nobody (the directory too).
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(sub, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(path, fs::perms::owner_read | fs::perms::others_read);
  int failures = AsUnprivileged([&] {
    int f = 0;
    auto rw = ConversationStore::Open(path);
    f += Expect(!rw.ok() && rw.status().code() == Code::kReadOnly, "read-write open of a read-only file: kReadOnly");
    f += Expect(!rw.ok() && rw.status().message().find("read_only") != std::string::npos, "message suggests read_only");
    Options o;
    o.read_only = true;
    auto ro = ConversationStore::Open(path, o);
    f += Expect(ro.ok(), "read-only open of a WAL file in a read-only directory");
    if (!ro.ok()) std::fprintf(stderr, "  %s\n", ro.status().ToString().c_str());
    if (ro.ok()) {
      auto got = (*ro)->GetConversation(id);
      f += Expect(got.ok() && got->messages.size() == 1, "read through the immutable fallback");
      f += Expect((*ro)->AddMessage(id, {.content = "x"}).status().code() == Code::kReadOnly, "write refused");
    }
    // The same through a path that starts with "//" (our immutable URI must not read it as a host).
    auto slashes = ConversationStore::Open("/" + path, o);
    f += Expect(slashes.ok() && (*slashes)->GetConversation(id).ok(), "read-only open of a '//' path");
    auto fresh = ConversationStore::Open((sub / "new.db").string());
    f += Expect(!fresh.ok() && fresh.status().code() == Code::kReadOnly, "creating in a read-only directory");
    return f;
  });
  EXPECT_EQ(failures, 0);
  EXPECT_FALSE(fs::exists(sub / "new.db"));
  // A -journal beside it (a writer crashed mid-transaction): the immutable fallback would ignore it, so refuse.
  fs::permissions(sub, fs::perms::owner_all);
  { std::ofstream(path + "-journal") << "x"; }
  fs::permissions(sub, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::others_read | fs::perms::others_exec);
  failures = AsUnprivileged([&] {
    Options o;
    o.read_only = true;
    auto ro = ConversationStore::Open(path, o);
    return Expect(!ro.ok() && ro.status().code() == Code::kReadOnly &&
                      ro.status().message().find("-journal") != std::string::npos,
                  "a -journal in a read-only directory is refused");
  });
  EXPECT_EQ(failures, 0);
  fs::permissions(sub, fs::perms::owner_all);
  fs::remove(path + "-journal");
  // A writable directory but a read-only file.
  fs::permissions(sub, fs::perms::owner_all | fs::perms::others_all);
  failures = AsUnprivileged([&] {
    auto rw = ConversationStore::Open(path);
    int f = Expect(!rw.ok() && rw.status().code() == Code::kReadOnly, "read-only file, writable directory");
    Options o;
    o.read_only = true;
    auto ro = ConversationStore::Open(path, o);
    f += Expect(ro.ok() && (*ro)->GetConversation(id).ok(), "read-only open with a -shm it may create");
    return f;
  });
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace convstore
