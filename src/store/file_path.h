// The database path before SQLite sees it: name limits, permissions, creating the file owner-only, and removing
// it again when an open that created it fails.
//
// Stateless functions; thread-safe. Paths are file paths (never URIs: see sqlite::Connection::Open).
#pragma once
#include <string>

#include "convstore/status.h"

namespace convstore::store {

// Refuses a name SQLite could not use with its side files: the last component plus "-journal" must fit the
// file system's name limit, and the absolute path plus "-journal" SQLite's path limit (kInvalidArgument).
Status CheckPathName(const std::string& path);

// For a read-write open: the file (when it exists) and its directory must be writable — SQLite creates -wal,
// -shm and -journal beside the database — else kReadOnly, naming what is not writable and suggesting read_only.
Status CheckWritable(const std::string& path);

// For a read-only open: the file must exist (kNotFound) and be readable (kReadOnly naming the permission).
Status CheckReadable(const std::string& path);

// Creates the file with mode 0600 unless it exists (kNotFound when missing and !create_if_missing). `created`
// says whether this call made it.
Status CreateOwnerOnly(const std::string& path, bool create_if_missing, bool* created);

// After a failed open that created `path`: removes it and its side files, if they are still empty (nobody else
// has started to use them).
void RemoveCreated(const std::string& path) noexcept;

// Whether a directory allows this process to create files in it (for the -shm of a read-only WAL open).
bool DirectoryWritable(const std::string& path) noexcept;

}  // namespace convstore::store
