// Fuzz target "point_in_time_options": convstore_restore_to_point(<no archive>, <scratch target>, <input>). The
// archive directory does not exist, so every input is refused (by the options decoder, or as not_found), and the
// target is never created.
#include <unistd.h>

#include <string>

#include "fuzz_call.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convstore_fuzz;
  // A scratch directory of this process, removed at exit (a refused restore leaves nothing in it).
  struct Scratch {
    std::string path;
    Scratch() {
      char tmpl[] = "/tmp/convstore-fuzz-pitr-XXXXXX";
      const char* made = ::mkdtemp(tmpl);
      path = made ? made : "/tmp";
    }
    ~Scratch() {
      if (path != "/tmp") ::rmdir(path.c_str());
    }
  };
  static const Scratch scratch;
  static const std::string& dir = scratch.path;
  static const std::string archive = dir + "/no-archive";
  static const std::string target = dir + "/target.db";
  return FuzzStoreCall(
      data, size, "convstore_restore_to_point", Kind::kObject,
      [](FuzzStore&, const char* in, char** out, char** err) {
        const int rc = convstore_restore_to_point(archive.c_str(), target.c_str(), in, nullptr, nullptr, out, err);
        if (::access(target.c_str(), F_OK) == 0) {
          std::fprintf(stderr, "a refused restore created its target\n");
          std::abort();
        }
        return rc;
      },
      [](FuzzStore&, const Success& r) { r.Fail("a restore from a missing archive succeeded"); });
}
