#include "delivery/maildir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "../queue/queue_test_support.hpp"

namespace mailroom::delivery {
namespace {

using testing::list_dir;
using testing::read_file;
using testing::TempDir;

std::string write_source(const std::string& dir, const std::string& content) {
  std::string path = dir + "/source";
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(Maildir, BaseNameFollowsTheSpecAndEscapesHostSpecials) {
  EXPECT_EQ(maildir_base_name(1700000000, 123456, 4242, 7, "mx.example.test"),
            "1700000000.M123456P4242Q7.mx.example.test");
  EXPECT_EQ(maildir_base_name(1, 2, 3, 4, "a/b:c"), "1.M2P3Q4.a\\057b\\072c");
}

TEST(Maildir, UnsafeComponentsAreRefused) {
  EXPECT_TRUE(is_safe_maildir_component("kate"));
  EXPECT_FALSE(is_safe_maildir_component(""));
  EXPECT_FALSE(is_safe_maildir_component(".."));
  EXPECT_FALSE(is_safe_maildir_component(".hidden"));
  EXPECT_FALSE(is_safe_maildir_component("a/b"));
  EXPECT_FALSE(is_safe_maildir_component(std::string("a\nb")));
  EXPECT_FALSE(maildir_for("/root", {"../etc", "example.test", ""}).has_value());
  EXPECT_FALSE(maildir_for("/root", {"kate", "..", ""}).has_value());
}

TEST(Maildir, PlusFolderOnlyWhenItExists) {
  TempDir dir;
  directory::Mailbox mb{"kate", "example.test", "lists"};
  auto inbox = dir.path() + "/example.test/kate";
  EXPECT_EQ(maildir_for(dir.path(), mb), inbox);  // folder missing: INBOX
  ASSERT_FALSE(ensure_maildir(inbox + "/.lists"));
  EXPECT_EQ(maildir_for(dir.path(), mb), inbox + "/.lists");
  mb.folder = "../kate";
  EXPECT_EQ(maildir_for(dir.path(), mb), inbox);  // a tag never escapes the mailbox
}

TEST(Maildir, DeliversWithLfLineEndsSizesInNameAndNothingLeftInTmp) {
  TempDir dir;
  util::SyncPool pool(4);
  auto maildir = dir.path() + "/example.test/kate";
  std::string message = "Subject: hi\r\n\r\nline one\r\nline two\r\n";
  auto source = write_source(dir.path(), "XXXX" + message + "TRAILER");
  MaildirBatch batch(pool, "mx.example.test");
  auto i = batch.stage(maildir, "Return-Path: <a@b.c>\r\n", source, 4, 4 + message.size());
  auto results = batch.commit();
  ASSERT_EQ(results.size(), 1u);
  ASSERT_FALSE(results[0]) << results[0].message();
  EXPECT_TRUE(list_dir(maildir + "/tmp").empty());
  auto files = list_dir(maildir + "/new");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0], batch.delivered_path(i));
  std::string expected = "Return-Path: <a@b.c>\nSubject: hi\n\nline one\nline two\n";
  EXPECT_EQ(read_file(files[0]), expected);
  auto name = std::filesystem::path(files[0]).filename().string();
  std::smatch m;
  ASSERT_TRUE(std::regex_match(
      name, m, std::regex(R"((\d+)\.M(\d+)P(\d+)Q(\d+)\.mx\.example\.test,S=(\d+),W=(\d+))")))
      << name;
  EXPECT_EQ(std::stoul(m[3]), static_cast<unsigned long>(::getpid()));
  EXPECT_EQ(std::stoul(m[5]), expected.size());
  EXPECT_EQ(std::stoul(m[6]), expected.size() + 5);  // five LFs counted as CRLF
  EXPECT_TRUE(std::filesystem::is_directory(maildir + "/cur"));
}

TEST(Maildir, BareCrAndCrAtChunkBoundaryAreKept) {
  TempDir dir;
  util::SyncPool pool(2);
  // 65535 bytes then CRLF: the CR ends the first 64 KiB read and the LF starts the next.
  std::string body(65535, 'a');
  body += "\r\nx\ry\r\n";
  auto source = write_source(dir.path(), body);
  MaildirBatch batch(pool, "h");
  batch.stage(dir.path() + "/m", "", source, 0, body.size());
  ASSERT_FALSE(batch.commit()[0]);
  auto files = list_dir(dir.path() + "/m/new");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(read_file(files[0]), std::string(65535, 'a') + "\nx\ry\n");
}

// The reference the span-wise writer must agree with: one octet at a time, CRLF -> LF, and the
// virtual size counting every output LF not preceded by a CR as two octets.
std::pair<std::string, std::uint64_t> reference_lf(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r' && i + 1 < in.size() && in[i + 1] == '\n') continue;
    out += in[i];
  }
  std::uint64_t virt = out.size();
  for (std::size_t i = 0; i < out.size(); ++i)
    if (out[i] == '\n' && (i == 0 || out[i - 1] != '\r')) ++virt;
  return {out, virt};
}

TEST(Maildir, LineEndsAndSizesMatchAnOctetByOctetReference) {
  TempDir dir;
  util::SyncPool pool(2);
  std::vector<std::string> bodies = {
      "",
      "\r",
      "\n",
      "\r\r\n\n\r",
      "a\nb\r\nc\rd\r\r\ne",
      std::string(70000, 'x') + "\r\n" + std::string(65534, 'y') + "\r",
  };
  std::string mixed;
  for (int i = 0; i < 200000; ++i) mixed += "ab\r\n\r\n\rx\n."[(i * 7919) % 10];
  bodies.push_back(mixed);
  for (std::size_t k = 0; k < bodies.size(); ++k) {
    const std::string headers = "H: v\r\n";
    auto source = write_source(dir.path(), bodies[k]);
    auto maildir = dir.path() + "/m" + std::to_string(k);
    MaildirBatch batch(pool, "h");
    batch.stage(maildir, headers, source, 0, bodies[k].size());
    ASSERT_FALSE(batch.commit()[0]);
    auto files = list_dir(maildir + "/new");
    ASSERT_EQ(files.size(), 1u);
    auto [expected, virt] = reference_lf(headers + bodies[k]);
    EXPECT_EQ(read_file(files[0]), expected) << "body " << k;
    auto name = files[0];
    EXPECT_NE(name.find(",S=" + std::to_string(expected.size()) + ",W=" + std::to_string(virt)),
              std::string::npos)
        << "body " << k << ": " << name;
  }
}

// BODY=BINARYMIME (RFC 3030 3): every octet as received, across 64 KiB read boundaries; W= still
// counts each bare LF as CRLF, as Dovecot does for a CRLF file.
TEST(Maildir, AsReceivedKeepsEveryOctetAndCountsBareLfInTheVirtualSize) {
  TempDir dir;
  util::SyncPool pool(2);
  std::string body = "\r\n\n\r";
  body += std::string(65530, 'b') + "\r\n\r";  // a CRLF split by the first read's end
  for (int i = 0; i < 256; ++i) body += static_cast<char>(i);
  body += std::string("\0\n\r\r\n", 5);
  const std::string headers = "Return-Path: <a@b.c>\r\n";
  auto source = write_source(dir.path(), "XX" + body);
  MaildirBatch batch(pool, "h");
  batch.stage(dir.path() + "/m", headers, source, 2, 2 + body.size(), {}, LineEnds::AsReceived);
  ASSERT_FALSE(batch.commit()[0]);
  auto files = list_dir(dir.path() + "/m/new");
  ASSERT_EQ(files.size(), 1u);
  const std::string expected = headers + body;
  EXPECT_TRUE(read_file(files[0]) == expected) << "the stored octets differ from the source";
  std::uint64_t bare_lf = 0;
  for (std::size_t i = 0; i < expected.size(); ++i)
    if (expected[i] == '\n' && (i == 0 || expected[i - 1] != '\r')) ++bare_lf;
  EXPECT_NE(files[0].find(",S=" + std::to_string(expected.size()) +
                          ",W=" + std::to_string(expected.size() + bare_lf)),
            std::string::npos)
      << files[0];
}

// Files are opened in tmp/ directly; a Maildir removed (or half removed) between deliveries is
// created again, not a delivery error.
TEST(Maildir, RemovedMaildirOrNewFolderIsCreatedAgain) {
  TempDir dir;
  util::SyncPool pool(2);
  auto source = write_source(dir.path(), "x\r\n");
  auto maildir = dir.path() + "/example.test/kate";
  for (int round = 0; round < 3; ++round) {
    if (round == 1) std::filesystem::remove_all(dir.path() + "/example.test");
    if (round == 2) std::filesystem::remove_all(maildir + "/new");
    MaildirBatch batch(pool, "h");
    batch.stage(maildir, "", source, 0, 3);
    auto results = batch.commit();
    ASSERT_FALSE(results[0]) << "round " << round << ": " << results[0].message();
    EXPECT_EQ(list_dir(maildir + "/new").size(), 1u)
        << round;  // rounds 1 and 2 removed the earlier copy
    EXPECT_TRUE(std::filesystem::is_directory(maildir + "/cur"));
    EXPECT_TRUE(list_dir(maildir + "/tmp").empty());
  }
}

TEST(Maildir, ManyEntriesToSeveralMailboxesInOneBatch) {
  TempDir dir;
  util::SyncPool pool(8);
  const std::string content = "Subject: x\r\n\r\nbody\r\n";
  auto source = write_source(dir.path(), content);
  MaildirBatch batch(pool, "h");
  for (int i = 0; i < 30; ++i)
    batch.stage(dir.path() + "/d/u" + std::to_string(i % 3), "", source, 0, content.size());
  for (auto ec : batch.commit()) EXPECT_FALSE(ec);
  for (int u = 0; u < 3; ++u)
    EXPECT_EQ(list_dir(dir.path() + "/d/u" + std::to_string(u) + "/new").size(), 10u);
}

TEST(Maildir, UncommittedBatchLeavesNoTmpFiles) {
  TempDir dir;
  util::SyncPool pool(2);
  auto source = write_source(dir.path(), "x\r\n");
  {
    MaildirBatch batch(pool, "h");
    batch.stage(dir.path() + "/m", "", source, 0, 3);
    EXPECT_EQ(list_dir(dir.path() + "/m/tmp").size(), 1u);
  }
  EXPECT_TRUE(list_dir(dir.path() + "/m/tmp").empty());
  EXPECT_TRUE(list_dir(dir.path() + "/m/new").empty());
}

TEST(Maildir, TruncatedSourceIsAnErrorNotAShortMessage) {
  TempDir dir;
  util::SyncPool pool(2);
  auto source = write_source(dir.path(), "short\r\n");
  MaildirBatch batch(pool, "h");
  batch.stage(dir.path() + "/m", "", source, 0, 100);
  EXPECT_TRUE(batch.commit()[0]);
  EXPECT_TRUE(list_dir(dir.path() + "/m/new").empty());
  EXPECT_TRUE(list_dir(dir.path() + "/m/tmp").empty());
}

TEST(Maildir, WriteErrorIsReportedPerEntry) {
  TempDir dir;
  util::SyncPool pool(2);
  auto source = write_source(dir.path(), "x\r\n");
  // A regular file where the Maildir's directory should be.
  std::ofstream(dir.path() + "/blocked") << "x";
  MaildirBatch batch(pool, "h");
  batch.stage(dir.path() + "/blocked/sub", "", source, 0, 3);
  batch.stage(dir.path() + "/ok", "", source, 0, 3);
  auto results = batch.commit();
  EXPECT_TRUE(results[0]);
  EXPECT_FALSE(results[1]);
}

}  // namespace
}  // namespace mailroom::delivery
