// Fuzz target "changeset": the journal's changeset reader (src/ops/changeset.h) on arbitrary bytes — what it does
// with a damaged change_journal entry. It must end (SQLite's own reader can spin on such input) and either accept
// the bytes or say why not. Accepted bytes must read back the same way once written again.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ops/changeset.h"

namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "fuzz changeset: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore::ops;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string error;
  ChangesetWriter again;
  std::string_view table;
  std::vector<bool> pk;
  const bool ok = ReadChangeset(bytes, &error, [&](const Change& c) {
    // A new table header whenever the name or the columns change: the format lets one name come back with another
    // shape (two headers for "t" in a row), which the rewrite must keep apart.
    if (c.table != table || *c.pk != pk) {
      again.BeginTable(c.table, *c.pk);
      table = c.table;
      pk = *c.pk;
    }
    if (c.op == 0x12) again.Insert(c.after);
    else if (c.op == 0x09) again.Delete(c.before, *c.pk);
    return true;
  });
  if (!ok && error.empty()) Die("refused without a reason");
  if (ok) {
    // Whatever was accepted reads back (inserts and deletes rewritten; updates skipped).
    std::string error2;
    if (!ReadChangeset(again.Take(), &error2, [](const Change&) { return true; })) Die("a rewrite does not read back");
  }
  return 0;
}
