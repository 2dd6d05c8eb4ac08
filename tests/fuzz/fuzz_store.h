// One in-memory store per fuzzing process, with fixtures the targets write into: a team, a user, three
// conversations (the third archived) and messages. Reopened from scratch every kInputsPerStore inputs, or sooner once
// kBytesPerStore bytes of input went in, so memory stays bounded however long the fuzzer runs.
//
// Fixture names seed inputs may refer to: team "fuzz-team", user "fuzz-user" (in fuzz-team); conversation() has a
// message with request_id "fuzz-request"; another conversation of the same user has one with request_id
// "fuzz-other-request" (reusing it in conversation() is a conflict).
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "convstore/convstore.h"

namespace convstore_fuzz {

class FuzzStore {
 public:
  static constexpr size_t kInputsPerStore = 10000;
  static constexpr size_t kBytesPerStore = size_t{64} << 20;

  // Never destroyed: closing a store from a static destructor runs after the library's own statics are gone
  // (KNOWN LIBRARY BUG: StoreImpl::Close logs through util::Logger()'s destroyed static logger — heap-use-after-free
  // at exit). The store stays reachable, so LeakSanitizer does not report it.
  static FuzzStore& Get() {
    static FuzzStore* store = new FuzzStore;
    return *store;
  }

  // Call first for every input: reopens the store when it is due.
  void BeginInput(size_t input_bytes) {
    if (db_ == nullptr || inputs_ >= kInputsPerStore || bytes_ >= kBytesPerStore) Reopen();
    ++inputs_;
    bytes_ += input_bytes;
  }

  convstore_t* db() const { return db_; }
  const char* conversation_id() const { return conversation_id_.c_str(); }
  const char* message_id() const { return message_id_.c_str(); }

  FuzzStore(const FuzzStore&) = delete;
  FuzzStore& operator=(const FuzzStore&) = delete;

 private:
  FuzzStore() = default;

  void Reopen() {
    convstore_close(db_);
    db_ = nullptr;
    inputs_ = 0;
    bytes_ = 0;
    char* err = nullptr;
    // "error": keeps the fuzzer's output readable (sanitizer builds trip the slow-operation warning). No background
    // indexer: the store is never closed (above), and a thread of it still running at exit read the library's
    // statics after their destruction (heap-use-after-free under ASan, which then hung a replay for 300 s); searches
    // index what waits before they run.
    if (convstore_open(":memory:", R"({"log_level":"error","background_indexing":false})", &db_, &err) !=
        CONVSTORE_OK)
      SetupFailed("open", err);
    Call("team", convstore_upsert_team(db_, R"({"key":"fuzz-team","name":"Fuzz"})", Out(), Err()));
    Call("user", convstore_upsert_user(db_, R"({"key":"fuzz-user","team":"fuzz-team"})", Out(), Err()));
    conversation_id_ = Id("conversation", convstore_create_conversation(
                                              db_, R"({"user":"fuzz-user","title":"fuzz","metadata":{"a":1}})",
                                              Out(), Err()));
    std::string other = Id("conversation", convstore_create_conversation(db_, R"({"user":"fuzz-user"})", Out(), Err()));
    std::string archived =
        Id("conversation", convstore_create_conversation(db_, R"({"user":"fuzz-user"})", Out(), Err()));
    if (convstore_set_archived(db_, archived.c_str(), 1, Err()) != CONVSTORE_OK) SetupFailed("archive", err_);
    message_id_ = Id("message", convstore_add_message(db_, conversation_id_.c_str(),
                                                      R"({"role":"user","content":"hi","request_id":"fuzz-request"})",
                                                      Out(), Err()));
    Call("message", convstore_add_message(db_, other.c_str(),
                                          R"({"role":"assistant","content":"ok","request_id":"fuzz-other-request"})",
                                          Out(), Err()));
  }

  char** Out() { return &out_; }
  char** Err() { return &err_; }

  [[noreturn]] static void SetupFailed(const char* what, const char* err) {
    std::fprintf(stderr, "fuzz fixture: %s failed: %s\n", what, err != nullptr ? err : "(no message)");
    std::abort();
  }

  // Returns the output of a fixture call that must succeed (and frees it).
  std::string Call(const char* what, int rc) {
    if (rc != CONVSTORE_OK || out_ == nullptr) SetupFailed(what, err_);
    std::string out(out_);
    convstore_free(out_);
    out_ = nullptr;
    return out;
  }
  std::string Id(const char* what, int rc) { return nlohmann::json::parse(Call(what, rc)).at("id").get<std::string>(); }

  convstore_t* db_ = nullptr;
  char* out_ = nullptr;
  char* err_ = nullptr;
  std::string conversation_id_;
  std::string message_id_;
  size_t inputs_ = 0;
  size_t bytes_ = 0;
};

}  // namespace convstore_fuzz
