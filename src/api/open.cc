// ConversationStore::Open: checks options and the path, creates the file 0600, opens the writer, migrates, opens
// readers. A read-only open never writes: no creation, no migration, no WAL switch, no catalog refresh.
#include <unistd.h>

#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cost/histogram.h"
#include "cost/price_lookup.h"
#include "cost/rollup_check.h"
#include "metadata/index.h"
#include "schema/migrations.h"
#include "search/text_rank.h"
#include "api/file_path.h"
#include "api/migration_guard.h"
#include "api/store_impl.h"
#include "ops/journal_capture.h"
#include "ops/maintenance.h"
#include "util/directory.h"
#include "util/fork.h"
#include "util/logging.h"
#include "util/status_macros.h"
#include "util/time.h"

namespace convstore {

namespace {

// PRAGMA quick_check: damage is kCorruption.
Status QuickCheck(sqlite::Connection& conn) {
  auto problems = ops::QuickCheckProblems(conn);
  if (!problems.ok()) return problems.status();
  if (!problems->empty())
    return Status::Corruption(fmt::format("quick_check found damage: {}", fmt::join(*problems, "; ")));
  return Status::OK();
}

// Opens a read-only connection and reads the schema once. A WAL database in a directory this process cannot
// write has no -shm to share, so SQLite refuses the read: then, when no writer is active (no -wal file), the file
// is opened immutable (no locks, no -shm), which assumes nobody writes it while it is open.
Result<std::unique_ptr<sqlite::Connection>> OpenReadOnly(const std::string& path, sqlite::ConnectionConfig& config) {
  config.open_read_only = true;
  config.read_only = true;
  config.create = false;
  auto conn = sqlite::Connection::Open(path, config);
  Status probe = conn.ok() ? (*conn)->Exec("SELECT count(*) FROM sqlite_schema", "read the schema") : conn.status();
  if (probe.ok()) return conn;
  if (probe.code() != Code::kReadOnly) return probe;
  conn = Status::ReadOnly("closed");  // the first connection goes before the second opens
  for (const char* side : {"-wal", "-journal"})
    if (::access((path + side).c_str(), F_OK) == 0)
      return Status::ReadOnly(fmt::format(
          "'{}' has a {} file (a writer is active or crashed) and this process cannot write its directory, so SQLite "
          "can neither share nor recover it: open it from a process that may write the directory",
          path, side));
  config.immutable = true;
  conn = sqlite::Connection::Open(path, config);
  if (!conn.ok()) return conn;
  CONVSTORE_RETURN_IF_ERROR((*conn)->Exec("SELECT count(*) FROM sqlite_schema", "read the schema"));
  return conn;
}

Result<std::unique_ptr<api::StoreImpl>> OpenStore(const std::string& path, const Options& options,
                                                  std::unique_ptr<api::OpenFileRegistration> registration) {
  const bool in_memory = path == ConversationStore::kInMemory;
  sqlite::ConnectionConfig config;
  config.create = true;
  config.full_sync = options.durability == Durability::kFull;
  config.busy_timeout_ms = options.busy_timeout_ms;
  config.cache_kib = 16384;
  config.exclusive = options.exclusive && !in_memory;
  auto writer = options.read_only ? OpenReadOnly(path, config) : sqlite::Connection::Open(path, config);
  if (!writer.ok()) return writer.status();
  if (!options.read_only && (*writer)->ReadOnlyFile())
    return Status::ReadOnly(fmt::format("'{}' can only be opened read-only: open it with read_only to read it", path));

  if (int rc = cost::RegisterHistogramFunctions((*writer)->raw()); rc != 0)
    return Status::Internal(fmt::format("registering SQL functions failed (sqlite code {})", rc));
  CONVSTORE_RETURN_IF_ERROR(search::RegisterRankFunction(**writer));
  int64_t now = (options.env ? options.env : Env::Default())->NowMicros();
  if (options.quick_check_on_open && !in_memory) CONVSTORE_RETURN_IF_ERROR(QuickCheck(**writer));
  Result<int> version = 0;
  api::PreparedMigration migrating;  // the marker is held until the migration has committed or failed
  if (options.read_only) {
    version = schema::CurrentVersion(**writer, schema::BuiltinMigrations());
    if (!version.ok() && version.status().code() == Code::kReadOnly && !in_memory)
      if (std::string who = api::MigrationInProgress(path); !who.empty())
        return Status::ReadOnly(fmt::format("{} ({}): open it again when that finishes", version.status().message(), who));
  } else {
    if (!in_memory) {
      auto prepared = api::PrepareMigration(**writer, path, options);
      if (!prepared.ok()) return prepared.status();
      migrating = std::move(*prepared);
    }
    // Migrate (which refuses foreign files) before switching to WAL, so a refused file is left untouched.
    schema::MigrationProgressFn progress;
    if (options.on_progress)
      progress = [&options](int v, const char* name, int64_t done, int64_t total) {
        Progress report{fmt::format("schema migration {} ({})", v, name), done, total};
        util::ParkedScope in_user_code;  // a fork need not wait for the callback (util/fork.h)
        options.on_progress(report);
      };
    version = schema::Migrate(**writer, schema::BuiltinMigrations(), now, progress);
  }
  if (!version.ok()) api::DiscardBackup(migrating);  // the file is as it was
  migrating.marker.reset();
  if (!version.ok()) return version.status();
  if (options.quick_check_on_open) {
    // The derived tables' cheap invariants (a damaged file may pass quick_check and still lie in them).
    CONVSTORE_RETURN_IF_ERROR(cost::CheckRollupInvariants(**writer));
    CONVSTORE_RETURN_IF_ERROR(metadata::CheckIndexInvariants(**writer));
  }
  if (!in_memory && !options.read_only) CONVSTORE_RETURN_IF_ERROR((*writer)->EnableWal());
  // From here on every write transaction on the writer is journaled (the price catalog's refresh included).
  std::unique_ptr<ops::JournalCapture> journal;
  if (!options.read_only) {
    Env* env = options.env ? options.env : Env::Default();
    auto capture = ops::JournalCapture::Attach(**writer, [env] { return env->NowMicros(); });
    if (!capture.ok()) return capture.status();
    journal = std::move(*capture);
  }
  // A newer build may ship a newer price catalog; loading it writes only when the version differs.
  if (!options.read_only) CONVSTORE_RETURN_IF_ERROR(cost::RefreshBuiltinCatalog(**writer, now));

  // An exclusive open reads on its writer, as an in-memory store does: its connections to the file must all be
  // exclusive ones (sqlite::ConnectionConfig::exclusive), which read-only ones cannot be.
  std::unique_ptr<sqlite::ReaderPool> readers;
  if (!in_memory && !config.exclusive) {
    std::vector<std::unique_ptr<sqlite::Connection>> conns;
    sqlite::ConnectionConfig rc = config;
    rc.read_only = true;
    rc.create = false;
    rc.cache_kib = 8192;
    rc.mmap_bytes = 256 << 20;
    for (int i = 0; i < options.reader_pool_size; ++i) {
      auto c = sqlite::Connection::Open(path, rc);
      if (!c.ok()) return c.status();
      CONVSTORE_RETURN_IF_ERROR(search::RegisterRankFunction(**c));
      conns.push_back(std::move(*c));
    }
    readers = std::make_unique<sqlite::ReaderPool>(std::move(conns));
  }
  util::Logger().info("opened '{}' (schema {}, durability {}, {} readers{})", path, *version,
                      config.full_sync ? "full" : "normal", readers ? options.reader_pool_size : 0,
                      options.read_only ? (config.immutable ? ", read-only, immutable" : ", read-only")
                      : config.exclusive ? ", exclusive" : "");
  return std::make_unique<api::StoreImpl>(options, path, std::move(*writer), std::move(journal), std::move(readers),
                                          *version, std::move(registration));
}

}  // namespace

Result<std::unique_ptr<ConversationStore>> ConversationStore::Open(const std::string& path, const Options& options) {
  util::CallScope in_call;  // a fork() waits for this call to leave (util/fork.h)
  try {
    if (!util::ForkQuiesced())
      return Status::Busy(fmt::format(
          "this process was forked while another thread of its parent stayed inside convstore for more than {} ms, "
          "so SQLite's state here may hold a lock nobody will release: open stores in a process started with "
          "'spawn' (fork + exec), or fork when no thread is inside convstore",
          util::ForkWait().count()));
    if (path.empty()) return Status::InvalidArgument("path is empty (use \":memory:\" for an in-memory store)");
    if (path.find('\0') != std::string::npos) return Status::InvalidArgument("path contains a NUL byte");
    if (options.busy_timeout_ms < 0) return Status::InvalidArgument("busy_timeout_ms must be >= 0");
    if (options.reader_pool_size < 1 || options.reader_pool_size > 64)
      return Status::InvalidArgument("reader_pool_size must be between 1 and 64");
    if (static_cast<int>(options.log_level) < 0 || static_cast<int>(options.log_level) > 5)
      return Status::InvalidArgument("log_level is not a LogLevel");
    const bool in_memory = path == kInMemory;
    if (in_memory && options.read_only) return Status::InvalidArgument("an in-memory store cannot be read-only");
    if (options.exclusive && options.read_only)
      return Status::InvalidArgument("exclusive and read_only cannot be combined: an exclusive open is read-write");
    if (!options.migration_backup_directory.empty()) {
      if (options.migration_backup_directory.find('\0') != std::string::npos)
        return Status::InvalidArgument("migration_backup_directory contains a NUL byte");
      if (!util::IsDirectory(options.migration_backup_directory))
        return Status::InvalidArgument(fmt::format("migration_backup_directory '{}' is not an existing directory",
                                                   options.migration_backup_directory));
    }
    util::SetLogLevel(options.log_level);

    api::CreatedFile created;
    if (!in_memory) {
      CONVSTORE_RETURN_IF_ERROR(api::CheckPathName(path));
      if (options.read_only) {
        CONVSTORE_RETURN_IF_ERROR(api::CheckReadable(path));
      } else {
        if (::access(path.c_str(), F_OK) != 0 && !options.create_if_missing)
          return Status::NotFound(fmt::format("'{}' does not exist (create_if_missing is off)", path));
        CONVSTORE_RETURN_IF_ERROR(api::CheckWritable(path));
        CONVSTORE_RETURN_IF_ERROR(api::CreateOwnerOnly(path, options.create_if_missing, &created));
      }
    }
    // This process's claim on the file before any connection to it: an exclusive store has it alone here too.
    std::unique_ptr<api::OpenFileRegistration> registration;
    if (!in_memory) {
      auto registered = api::OpenFileRegistration::Register(path, options.exclusive);
      if (!registered.ok()) {
        api::RemoveCreated(path, created);
        return registered.status();
      }
      registration = std::move(*registered);
    }
    auto impl = OpenStore(path, options, std::move(registration));  // its connections are closed when it fails
    if (!impl.ok()) {
      api::RemoveCreated(path, created);  // leave nothing behind
      if (impl.status().code() == Code::kBusy && !options.exclusive && !in_memory)
        return Status::Busy(fmt::format("{} (if a process opened the file with exclusive, it holds it until it closes it)",
                                        impl.status().message()));
      return impl.status();
    }
    // An erasure whose WAL or archive steps were left pending is finished when it can be (best effort: the
    // store opens whatever happens; ListErasures shows what is still pending).
    if (!options.read_only) (*impl)->FinishErasuresOnOpen();
    if (!options.read_only) {
      if (Status started = (*impl)->StartCheckpointer(); !started.ok()) {
        (void)(*impl)->Close();
        api::RemoveCreated(path, created);
        return started;
      }
      (*impl)->StartTextIndexer();
    }
    return std::unique_ptr<ConversationStore>(new ConversationStore(std::move(*impl)));
  } catch (const std::bad_alloc&) {
    return Status::Internal("out of memory while opening the store");
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("unexpected error while opening the store: {}", e.what()));
  }
}

}  // namespace convstore
