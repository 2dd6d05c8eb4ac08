// The journal in words: each entry's row changes summarised as sentences an operator reads ("deleted
// conversation 0193… "BGP flaps" (12 messages)", "added 2 messages to conversation 0193…"), for
// `convstore changes` and the undo of a time window.
//
// Works in the caller's read transaction on the caller's connection. Conversations are named by their public id
// and title, learned from every entry of the batch (a conversation deleted later is still named) and else from
// the table. Thread-safe as the connection is.
#pragma once
#include <string>
#include <vector>

#include "convstore/ops.h"
#include "convstore/status.h"
#include "sqlite/connection.h"

namespace convstore::ops {

// Sentences for each decoded entry (markers get one sentence saying what they mean).
Result<std::vector<std::vector<std::string>>> DescribeEntries(sqlite::Connection& conn,
                                                              const std::vector<JournalEntry>& entries);

}  // namespace convstore::ops
