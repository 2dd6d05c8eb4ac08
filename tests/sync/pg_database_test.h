// The fixture of the tests against a real PostgreSQL 15: one throw-away cluster per test suite (pg_cluster.h), a
// fresh database per test (named `<prefix>_<n>`), and a session on it for checks. Tests skip when PostgreSQL 15 is
// not installed.
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "pg_cluster.h"

namespace convstore::testing {

class PgDatabaseTest : public ::testing::Test {
 protected:
  explicit PgDatabaseTest(std::string prefix) : prefix_(std::move(prefix)) {}
  static void SetUpTestSuite() {
    if (PostgresInstalled()) cluster_ = new PgCluster();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    if (cluster_ == nullptr) GTEST_SKIP() << "PostgreSQL 15 is not installed (scripts/deps.sh)";
    ASSERT_TRUE(cluster_->started()) << cluster_->error();
    static int n = 0;
    db_ = cluster_->CreateDatabase(prefix_ + "_" + std::to_string(++n));
    session_ = std::make_unique<PgSession>(cluster_->ConnInfo(db_));
    ASSERT_TRUE(session_->ok()) << session_->error();
  }

  static inline PgCluster* cluster_ = nullptr;
  std::string prefix_;
  std::string db_;
  std::unique_ptr<PgSession> session_;
};

}  // namespace convstore::testing
