// The queue file's footer and checksum: what this version writes (V2, XXH3-128), what it still
// reads (V1, BLAKE2b-128, written by earlier versions), and that one changed octet is caught.
#include "spool/queue_file.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <fstream>

#include "queue/queue_test_support.hpp"

namespace mailroom::spool {
namespace {

using testing::read_file;
using testing::TempDir;

const std::string kBody = "Subject: checksum\r\n\r\nline one\r\nline two\r\n";

Envelope sample_envelope() {
  Envelope e;
  e.id = "1k0yb7353j500apxffwtb";
  e.sender = "chris@contoso.com";
  e.recipients = {{"kate@example.test", "", smtp::kNotifyDefault}};
  e.body_type = "7BIT";
  e.arrival_unix = 1'800'000'000;
  return e;
}

std::string write_queue_file(const std::string& path, QueueFileFormat format) {
  QueueFileHasher hasher(format);
  hasher.update(kBody);
  std::string bytes = kBody + encode_trailer(sample_envelope(), kBody.size(), hasher);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  return bytes;
}

std::string hex(const unsigned char* p, std::size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), p, n);
  out.pop_back();
  return out;
}

TEST(QueueFile, NewFilesAreV2WithTheXxh3ChecksumOfBodyAndEnvelope) {
  TempDir dir;
  auto path = dir.path() + "/q";
  auto bytes = write_queue_file(path, kCurrentQueueFileFormat);
  ASSERT_EQ(bytes.substr(bytes.size() - kFooterBytes, 18), "MAILROOM-QUEUE-V2 ");
  QueueFileInfo info;
  ASSERT_FALSE(read_queue_file_info(path, info));
  EXPECT_EQ(info.format, QueueFileFormat::V2);
  EXPECT_EQ(info.envelope.sender, "chris@contoso.com");
  EXPECT_EQ(info.body_bytes, kBody.size());
  // The incremental hash equals the one-shot XXH3-128 of everything before the footer.
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, XXH3_128bits(bytes.data(), bytes.size() - kFooterBytes));
  EXPECT_EQ(info.checksum_hex, hex(c.digest, sizeof c.digest));
  EXPECT_FALSE(verify_queue_file(path, info));
}

TEST(QueueFile, V1FilesFromEarlierVersionsAreReadAndVerifiedWithBlake2b) {
  TempDir dir;
  auto path = dir.path() + "/q";
  auto bytes = write_queue_file(path, QueueFileFormat::V1);
  ASSERT_EQ(bytes.substr(bytes.size() - kFooterBytes, 18), "MAILROOM-QUEUE-V1 ");
  QueueFileInfo info;
  ASSERT_FALSE(read_queue_file_info(path, info));
  EXPECT_EQ(info.format, QueueFileFormat::V1);
  unsigned char digest[16];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size() - kFooterBytes, nullptr, 0);
  EXPECT_EQ(info.checksum_hex, hex(digest, sizeof digest));
  EXPECT_FALSE(verify_queue_file(path, info));
}

TEST(QueueFile, OneChangedOctetFailsVerificationInBothFormats) {
  TempDir dir;
  for (auto format : {QueueFileFormat::V1, QueueFileFormat::V2}) {
    auto path = dir.path() + "/q";
    auto bytes = write_queue_file(path, format);
    for (std::size_t at : {std::size_t{0}, kBody.size() - 1, kBody.size() + 5}) {
      auto damaged = bytes;
      damaged[at] ^= 0x20;
      std::ofstream(path, std::ios::binary | std::ios::trunc) << damaged;
      QueueFileInfo info;
      // A change inside the envelope record may already make it unparsable; either way it is
      // refused as not a good queue file.
      auto ec = read_queue_file_info(path, info);
      if (!ec) ec = verify_queue_file(path, info);
      EXPECT_EQ(ec, std::errc::illegal_byte_sequence) << "octet " << at;
    }
  }
}

TEST(QueueFile, UnknownFooterVersionIsNotAQueueFile) {
  TempDir dir;
  auto path = dir.path() + "/q";
  auto bytes = write_queue_file(path, kCurrentQueueFileFormat);
  bytes[bytes.size() - kFooterBytes + 16] = '3';  // "MAILROOM-QUEUE-V3 "
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  QueueFileInfo info;
  EXPECT_EQ(read_queue_file_info(path, info), std::errc::illegal_byte_sequence);
}

// A power cut after a quarantine can bring back the file's name in messages/ beside corrupt/:
// two links to one file, for which rename(2) does nothing (test_queue_powerloss.py saw the file
// stay listed, so the queue never looked empty). Quarantining again leaves only corrupt/.
TEST(QueueFile, QuarantineOfAFileAlreadyLinkedIntoCorruptLeavesMessages) {
  TempDir dir;
  QueuePaths paths(dir.path());
  ASSERT_FALSE(ensure_queue_dirs(paths));
  const std::string id = "1k0yb7353j500apxffwtb";
  write_queue_file(paths.message_file(id), kCurrentQueueFileFormat);
  ASSERT_EQ(::mkdir(paths.corrupt_dir().c_str(), 0700), 0);
  const auto corrupt = paths.corrupt_dir() + "/" + id;
  ASSERT_EQ(::link(paths.message_file(id).c_str(), corrupt.c_str()), 0);
  quarantine_queue_file(paths, id);
  EXPECT_NE(::access(paths.message_file(id).c_str(), F_OK), 0);
  EXPECT_EQ(::access(corrupt.c_str(), F_OK), 0);
  EXPECT_TRUE(list_committed_ids(paths).empty());
}

// A footer whose sizes add up to the file's only modulo 2^64 (fuzz/corpus/queue_envelope_fuzz/
// crash-footer-size-wraps) is not a queue file, and nothing is allocated for it.
TEST(QueueFile, FooterSizesThatWrapAroundAreNotAQueueFile) {
  TempDir dir;
  auto path = dir.path() + "/q";
  const std::uint64_t file_bytes = 100, env = 9'999'999'999;
  const std::uint64_t body = 0 - (env + kFooterBytes - file_bytes);  // body + env + 83 wraps
  std::string footer =
      fmt::format("MAILROOM-QUEUE-V2 {:020d} {:010d} {}\n", body, env, std::string(32, '0'));
  ASSERT_EQ(footer.size(), kFooterBytes);
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      << std::string(file_bytes - kFooterBytes, 'x') + footer;
  QueueFileInfo info;
  EXPECT_EQ(read_queue_file_info(path, info), std::errc::illegal_byte_sequence);
}

}  // namespace
}  // namespace mailroom::spool
