// The database path before SQLite sees it: name limits, permissions, creating the file owner-only, and removing
// it again when an open that created it fails.
//
// Stateless functions; thread-safe. Paths are file paths (never URIs: see sqlite::Connection::Open).
#pragma once
#include <cstdint>
#include <string>

#include "convstore/status.h"

namespace convstore::api {

// Refuses a name SQLite could not use with its side files: the last component plus "-journal" must fit the
// file system's name limit, and the absolute path plus "-journal" SQLite's path limit (kInvalidArgument).
Status CheckPathName(const std::string& path);

// For a read-write open: the file (when it exists) and its directory must be writable — SQLite creates -wal,
// -shm and -journal beside the database — else kReadOnly, naming what is not writable and suggesting read_only.
Status CheckWritable(const std::string& path);

// For a read-only open: the file must exist (kNotFound) and be readable (kReadOnly naming the permission).
Status CheckReadable(const std::string& path);

// The identity of a file this process created (device and inode), so that it removes that file and no other.
struct CreatedFile {
  bool created = false;
  uint64_t device = 0, inode = 0;
};

// Creates the file with mode 0600 unless it exists (kNotFound when missing and !create_if_missing); `created`
// says whether this call made it, and which file it is.
Status CreateOwnerOnly(const std::string& path, bool create_if_missing, CreatedFile* created);

// After a failed open that created the file (its connections closed): removes it, whatever SQLite wrote into it,
// if it is still that file and no -journal, -wal or -shm beside it says another connection is using it.
void RemoveCreated(const std::string& path, const CreatedFile& created) noexcept;

// Whether a directory allows this process to create files in it (for the -shm of a read-only WAL open).
bool DirectoryWritable(const std::string& path) noexcept;

}  // namespace convstore::api
