// Files at rest: SHA-256 against known vectors; AES-256-GCM chunked encryption round trips at every size around
// the chunk boundary, tells a wrong key from damage, and refuses any flipped byte, truncation or appended data;
// durable writes are 0600 and replace atomically.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <random>
#include <string>

#include "ops/file_cipher.h"
#include "ops/sha256.h"
#include "test_util.h"
#include "util/durable_file.h"

namespace convstore {
namespace {

using testing::TempDb;

constexpr char kKeyHex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr char kOtherKeyHex[] = "FF0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F";

std::string Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

void Write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string Read(const std::string& path) {
  auto r = util::ReadWholeFile(path, INT64_MAX);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : "";
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(ops::Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ops::Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  TempDb f;
  Write(f.path(), std::string(3 << 20, 'a') + "abc");
  auto whole = ops::Sha256OfFile(f.path());
  ASSERT_OK(whole);
  EXPECT_EQ(*whole, ops::Sha256Hex(std::string(3 << 20, 'a') + "abc"));
  EXPECT_CODE(ops::Sha256OfFile(f.path() + ".missing"), Code::kNotFound);
}

TEST(FileCipher, RoundTripsAtEverySizeAroundTheChunk) {
  auto key = ops::ParseCipherKey(kKeyHex);
  ASSERT_OK(key);
  constexpr size_t kChunk = 1 << 20;
  for (size_t n : {size_t{0}, size_t{1}, kChunk - 1, kChunk, kChunk + 1, 3 * kChunk + 5}) {
    SCOPED_TRACE(n);
    TempDb plain, sealed, opened;
    const std::string data = Random(n, static_cast<uint32_t>(n));
    Write(plain.path(), data);
    ASSERT_OK(ops::EncryptFile(plain.path(), sealed.path() + ".enc", *key));
    struct stat st {};
    ASSERT_EQ(::stat((sealed.path() + ".enc").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_TRUE(*ops::IsEncryptedFile(sealed.path() + ".enc"));
    EXPECT_FALSE(*ops::IsEncryptedFile(plain.path()));
    ASSERT_OK(ops::DecryptFile(sealed.path() + ".enc", opened.path() + ".dec", *key));
    EXPECT_EQ(Read(opened.path() + ".dec"), data);
    auto bytes = ops::EncryptBytes(data, *key);
    ASSERT_OK(bytes);
    auto back = ops::DecryptBytes(*bytes, *key);
    ASSERT_OK(back);
    EXPECT_EQ(*back, data);
    ::unlink((sealed.path() + ".enc").c_str());
    ::unlink((opened.path() + ".dec").c_str());
  }
}

TEST(FileCipher, AWrongKeyIsToldApartFromDamage) {
  auto key = ops::ParseCipherKey(kKeyHex);
  auto other = ops::ParseCipherKey(kOtherKeyHex);
  ASSERT_OK(key);
  ASSERT_OK(other);
  const std::string data = Random((1 << 20) + 4321, 7);
  auto sealed = ops::EncryptBytes(data, *key);
  ASSERT_OK(sealed);
  EXPECT_CODE(ops::DecryptBytes(*sealed, *other), Code::kInvalidArgument);
  // One flipped byte anywhere: never accepted.
  std::mt19937 rng(11);
  std::vector<size_t> positions = {0, 9, 13, 17, 30, 43, 44, 45, 1000, sealed->size() / 2, sealed->size() - 17,
                                   sealed->size() - 1};
  for (int k = 0; k < 40; ++k) positions.push_back(rng() % sealed->size());
  for (size_t pos : positions) {
    std::string damaged = *sealed;
    damaged[pos] = static_cast<char>(damaged[pos] ^ 0x20);
    auto r = ops::DecryptBytes(damaged, *key);
    EXPECT_FALSE(r.ok()) << "flipped byte " << pos << " was accepted";
    if (pos >= 44) EXPECT_CODE(r, Code::kCorruption);
  }
  // Cut at a chunk boundary, cut in a chunk, an appended byte, an empty file.
  const size_t boundary = 44 + (1 << 20) + 16;
  for (const std::string& bad : {sealed->substr(0, boundary), sealed->substr(0, sealed->size() - 1),
                                 *sealed + "x", std::string(), sealed->substr(0, 30)}) {
    EXPECT_FALSE(ops::DecryptBytes(bad, *key).ok()) << bad.size() << " bytes";
  }
}

TEST(FileCipher, AFailedDecryptionLeavesNoOutputAndKeysAreChecked) {
  auto key = ops::ParseCipherKey(kKeyHex);
  auto other = ops::ParseCipherKey(kOtherKeyHex);
  TempDb plain, sealed, out;
  Write(plain.path(), Random(5000, 3));
  ASSERT_OK(ops::EncryptFile(plain.path(), sealed.path(), *key));
  EXPECT_CODE(ops::EncryptFile(plain.path(), sealed.path(), *key), Code::kConflict);  // never overwrites
  EXPECT_CODE(ops::DecryptFile(sealed.path(), out.path() + ".x", *other), Code::kInvalidArgument);
  EXPECT_FALSE(Exists(out.path() + ".x"));
  EXPECT_CODE(ops::DecryptFile(plain.path(), out.path() + ".y", *key), Code::kCorruption);
  EXPECT_FALSE(Exists(out.path() + ".y"));
  EXPECT_CODE(ops::DecryptFile(plain.path() + ".missing", out.path() + ".z", *key), Code::kNotFound);
  for (const char* bad : {"", "00", "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                          "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00"})
    EXPECT_CODE(ops::ParseCipherKey(bad), Code::kInvalidArgument);
}

TEST(DurableFile, WritesOwnerOnlyAndReplacesWhole) {
  TempDb f;
  ASSERT_OK(util::WriteFileAtomically(f.path(), "first"));
  ASSERT_OK(util::WriteFileAtomically(f.path(), "second, longer"));
  EXPECT_EQ(Read(f.path()), "second, longer");
  struct stat st {};
  ASSERT_EQ(::stat(f.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_CODE(util::CreateOwnerOnlyExclusive(f.path()), Code::kConflict);
  EXPECT_CODE(util::ReadWholeFile(f.path(), 3), Code::kTooLarge);
  EXPECT_CODE(util::WriteFileAtomically("/nonexistent-dir/x", "x"), Code::kNotFound);
  const std::string tmp = util::TempPathBeside(f.path());
  EXPECT_EQ(util::DirectoryOf(tmp), util::DirectoryOf(f.path()));
  EXPECT_NE(tmp, util::TempPathBeside(f.path()));
}

}  // namespace
}  // namespace convstore
