// TransactionObserver: work that must happen inside every write transaction of a connection, whoever runs it.
//
// A connection with an observer calls Begin right after BEGIN IMMEDIATE, BeforeCommit inside the transaction just
// before COMMIT (an error there fails the commit and the transaction rolls back), and End once the transaction is
// over, committed or rolled back. The change journal (src/ops/journal_capture.h) is the observer of a store's
// writer connection: it records each transaction's row changes in the transaction itself.
//
// Not thread-safe: an observer is used by the thread that holds its connection. Not owned by the connection; it
// must outlive it or be detached first (Connection::SetObserver(nullptr)).
#pragma once
#include "convstore/status.h"

namespace convstore::sqlite {

class Connection;

class TransactionObserver {
 public:
  virtual ~TransactionObserver() = default;
  virtual Status Begin(Connection& conn) = 0;
  virtual Status BeforeCommit(Connection& conn) = 0;
  virtual void End() noexcept = 0;
};

}  // namespace convstore::sqlite
