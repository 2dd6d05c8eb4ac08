// ConversationStore::Open: checks options, creates the file 0600, opens the writer, migrates, opens readers.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "cost/histogram.h"
#include "cost/pricing.h"
#include "schema/migrations.h"
#include "store/store_impl.h"
#include "util/logging.h"
#include "util/time.h"

namespace convstore {

namespace {

// Creates the database file with mode 0600 before SQLite opens it; SQLite gives -wal and -shm the same mode.
Status PrepareFile(const std::string& path, bool create_if_missing) {
  struct stat sb;
  if (::stat(path.c_str(), &sb) == 0) return Status::OK();
  if (!create_if_missing) return Status::NotFound(fmt::format("'{}' does not exist (create_if_missing is off)", path));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno != EEXIST)
    return Status::IoError(fmt::format("cannot create '{}': {}", path, std::strerror(errno)));
  if (fd >= 0) ::close(fd);
  return Status::OK();
}

// PRAGMA quick_check: "ok", or one row per problem found.
Status QuickCheck(sqlite::Connection& conn) {
  auto st = conn.Prepare("PRAGMA quick_check(5)");
  if (!st.ok()) return st.status();
  std::string problems;
  for (;;) {
    auto row = st->Step("quick_check");
    if (!row.ok()) return Status::Corruption("quick_check could not read the file: " + row.status().message());
    if (!*row) break;
    if (st->Text(0) == "ok") continue;
    if (!problems.empty()) problems += "; ";
    problems += st->Text(0);
  }
  if (!problems.empty()) return Status::Corruption("quick_check found damage: " + problems);
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<ConversationStore>> ConversationStore::Open(const std::string& path, const Options& options) {
  try {
    if (path.empty()) return Status::InvalidArgument("path is empty (use \":memory:\" for an in-memory store)");
    if (path.find('\0') != std::string::npos) return Status::InvalidArgument("path contains a NUL byte");
    if (options.busy_timeout_ms < 0) return Status::InvalidArgument("busy_timeout_ms must be >= 0");
    if (options.reader_pool_size < 1 || options.reader_pool_size > 64)
      return Status::InvalidArgument("reader_pool_size must be between 1 and 64");
    if (static_cast<int>(options.log_level) < 0 || static_cast<int>(options.log_level) > 5)
      return Status::InvalidArgument("log_level is not a LogLevel");
    util::SetLogLevel(options.log_level);

    const bool in_memory = path == kInMemory;
    if (!in_memory) {
      if (Status s = PrepareFile(path, options.create_if_missing); !s.ok()) return s;
    }
    sqlite::ConnectionConfig config;
    config.create = true;
    config.full_sync = options.durability == Durability::kFull;
    config.busy_timeout_ms = options.busy_timeout_ms;
    config.cache_kib = 16384;
    auto writer = sqlite::Connection::Open(path, config);
    if (!writer.ok()) return writer.status();

    if (int rc = cost::RegisterHistogramFunctions((*writer)->raw()); rc != 0)
      return Status::Internal(fmt::format("registering SQL functions failed (sqlite code {})", rc));
    int64_t now = options.clock ? options.clock() : util::SystemNowMicros();
    if (options.quick_check_on_open && !in_memory) {
      if (Status s = QuickCheck(**writer); !s.ok()) return s;
    }
    // Migrate (which refuses foreign files) before switching to WAL, so a refused file is left untouched.
    schema::MigrationProgressFn progress;
    if (options.on_progress)
      progress = [&options](int version, const char* name, int64_t done, int64_t total) {
        options.on_progress(Progress{fmt::format("schema migration {} ({})", version, name), done, total});
      };
    auto version = schema::Migrate(**writer, schema::BuiltinMigrations(), now, progress);
    if (!version.ok()) return version.status();
    if (!in_memory) {
      if (Status s = (*writer)->EnableWal(); !s.ok()) return s;
    }
    // A newer build may ship a newer price catalog; loading it writes only when the version differs.
    if (Status s = cost::RefreshBuiltinCatalog(**writer, now); !s.ok()) return s;

    std::unique_ptr<sqlite::ReaderPool> readers;
    if (!in_memory) {
      std::vector<std::unique_ptr<sqlite::Connection>> conns;
      sqlite::ConnectionConfig rc = config;
      rc.read_only = true;
      rc.create = false;
      rc.cache_kib = 8192;
      rc.mmap_bytes = 256 << 20;
      for (int i = 0; i < options.reader_pool_size; ++i) {
        auto c = sqlite::Connection::Open(path, rc);
        if (!c.ok()) return c.status();
        conns.push_back(std::move(*c));
      }
      readers = std::make_unique<sqlite::ReaderPool>(std::move(conns));
    }
    util::Logger().info("opened '{}' (schema {}, durability {}, {} readers)", path, *version,
                        config.full_sync ? "full" : "normal", in_memory ? 0 : options.reader_pool_size);
    return std::unique_ptr<ConversationStore>(std::make_unique<store::StoreImpl>(
        options, path, std::move(*writer), std::move(readers), *version));
  } catch (const std::bad_alloc&) {
    return Status::Internal("out of memory while opening the store");
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("unexpected error while opening the store: {}", e.what()));
  }
}

}  // namespace convstore
