// Replays fuzz inputs without libFuzzer, so the seed corpus and past failures run in the normal test suite with any
// compiler: `fuzz_replay_<target> <dir or file>...` runs LLVMFuzzerTestOneInput on every regular file (directories
// are walked recursively, in sorted order). A violated invariant aborts, failing the test; the input being run is
// printed first. A missing path is an error, so a misconfigured test cannot pass by running nothing.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace fs = std::filesystem;

namespace {

bool ReadFile(const fs::path& path, std::vector<uint8_t>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <corpus dir or file>...\n", argv[0]);
    return 2;
  }
  size_t total = 0;
  for (int i = 1; i < argc; ++i) {
    fs::path root(argv[i]);
    std::error_code ec;
    std::vector<fs::path> files;
    if (fs::is_directory(root, ec)) {
      for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_regular_file()) files.push_back(it->path());
      if (ec) {
        std::fprintf(stderr, "cannot list %s: %s\n", argv[i], ec.message().c_str());
        return 2;
      }
    } else if (fs::is_regular_file(root, ec)) {
      files.push_back(root);
    } else {
      std::fprintf(stderr, "no such file or directory: %s\n", argv[i]);
      return 2;
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      std::vector<uint8_t> data;
      if (!ReadFile(file, data)) {
        std::fprintf(stderr, "cannot read %s\n", file.c_str());
        return 2;
      }
      std::fprintf(stderr, "replay %s (%zu bytes)\n", file.c_str(), data.size());
      // A copy of exactly the input's size, as libFuzzer passes, so overreads are caught by sanitizers.
      std::unique_ptr<uint8_t[]> copy(new uint8_t[data.size()]);
      std::copy(data.begin(), data.end(), copy.get());
      LLVMFuzzerTestOneInput(copy.get(), data.size());
    }
    std::printf("%s: %zu inputs replayed\n", argv[i], files.size());
    total += files.size();
  }
  std::printf("%zu inputs replayed, all invariants held\n", total);
  return 0;
}
