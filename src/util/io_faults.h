// A test hook into the library's own file I/O — what does not go through SQLite: backups' checksummed and
// encrypted copies, manifests, the archive's segments and directories, restores' copies, their fsyncs and renames.
// Fault-injection tests install a function that may fail any of these calls as the system call would (SQLite's
// own I/O is faulted through a VFS instead); without one, every call proceeds.
//
// Thread-safe: the hook is one atomic pointer. Installing or removing it while I/O is under way is allowed.
#pragma once

namespace convstore::util {

enum class IoOp { kCreate, kWrite, kSync, kRename };

// Returns 0 to let the call proceed, or the errno it fails with.
using IoFaultHook = int (*)(IoOp op);

// Installs `hook` (nullptr removes it). For tests only.
void SetIoFaultHook(IoFaultHook hook);

// 0, or the errno the installed hook chose for this call.
int InjectedIoFault(IoOp op);

}  // namespace convstore::util
