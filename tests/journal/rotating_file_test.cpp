#include "journal/rotating_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "journal/log_writer.hpp"
#include "journal/protocol_log.hpp"
#include "journal/temp_dir.hpp"

namespace mailroom::journal {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::vector<std::string> files_in(const std::string& dir, const std::string& ext) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ext) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> files_in_or_none(const std::string& dir, const std::string& ext) {
  if (!fs::is_directory(dir)) return {};
  return files_in(dir, ext);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

LogSpec spec(bool indexed = false) { return LogSpec{"test", "log", "#header\n", indexed}; }

TEST(RotatingFileName, SortsByTime) {
  EXPECT_EQ(log_file_name(spec(), 1796043901, 0), "test-20261130T130501Z-0000.log");
  EXPECT_LT(log_file_name(spec(), 1796043901, 0), log_file_name(spec(), 1796043902, 0));
}

TEST(RotatingFile, RotatesBySizeKeepingEveryLineAndHeader) {
  TempDir dir;
  LogOptions o;
  o.directory = dir.path + "/sub/log";  // created on first write
  o.max_file_bytes = 100;
  {
    RotatingFile f(spec(), o);
    for (int i = 0; i < 50; ++i) {
      ASSERT_FALSE(f.append("line " + std::to_string(i) + " xxxxxxxxxx\n", "", 1000));
      ASSERT_FALSE(f.flush());
    }
  }
  auto files = files_in(o.directory, ".log");
  ASSERT_GT(files.size(), 5u);
  int seen = 0;
  for (auto& p : files) {
    auto text = slurp(p);
    EXPECT_EQ(text.rfind("#header\n", 0), 0u) << p;
    EXPECT_LE(text.size(), 100u) << p;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
      if (line != "#header") {
        EXPECT_EQ(line, "line " + std::to_string(seen++) + " xxxxxxxxxx");
      }
  }
  EXPECT_EQ(seen, 50);
}

TEST(RotatingFile, RotatesByAge) {
  TempDir dir;
  LogOptions o;
  o.directory = dir.path;
  o.rotate_interval_s = 60;
  RotatingFile f(spec(), o);
  ASSERT_FALSE(f.append("a\n", "", 1000));
  ASSERT_FALSE(f.append("b\n", "", 1059));
  ASSERT_FALSE(f.flush());
  ASSERT_FALSE(f.append("c\n", "", 1060));
  ASSERT_FALSE(f.flush());
  auto files = files_in(dir.path, ".log");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(slurp(files[0]), "#header\na\nb\n");
  EXPECT_EQ(slurp(files[1]), "#header\nc\n");
}

TEST(RotatingFile, IndexListsKeysAndTimeRange) {
  TempDir dir;
  LogOptions o;
  o.directory = dir.path;
  {
    RotatingFile f(spec(true), o);
    ASSERT_FALSE(f.append("x\n", "id2 dsn9", 1000));
    ASSERT_FALSE(f.append("y\n", "id1", 1005));
    ASSERT_FALSE(f.flush());
  }
  auto files = files_in(dir.path, ".log");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(slurp(files[0] + ".idx"), "#first=1000 last=1005\ndsn9\nid1\nid2\n");
}

TEST(RotatingFile, PrunesOldAndOversizedFiles) {
  TempDir dir;
  LogOptions o;
  o.directory = dir.path;
  o.max_file_bytes = 4096;
  o.max_age_days = 1;
  o.max_total_bytes = 3 * 4096;
  const std::int64_t now = 1796043901;
  // An old file (mtime two days ago) and an unrelated file that must stay.
  auto old = dir.path + "/" + log_file_name(spec(), now - 2 * 86400, 0);
  std::ofstream(old) << "old\n";
  struct utimbuf t {
    now - 2 * 86400, now - 2 * 86400
  };
  ASSERT_EQ(::utime(old.c_str(), &t), 0);
  std::ofstream(dir.path + "/other.txt") << "keep\n";
  RotatingFile f(spec(), o);
  const std::string line(1000, 'x');
  for (int i = 0; i < 40; ++i) {
    ASSERT_FALSE(f.append(line + "\n", "", now));
    ASSERT_FALSE(f.flush());
  }
  EXPECT_FALSE(fs::exists(old));
  EXPECT_TRUE(fs::exists(dir.path + "/other.txt"));
  std::uint64_t total = 0;
  for (auto& p : files_in(dir.path, ".log")) total += fs::file_size(p);
  EXPECT_LE(total, o.max_total_bytes + o.max_file_bytes);
}

TEST(RotatingFile, UnwritableDirectoryFailsThenRecovers) {
  TempDir dir;
  LogOptions o;
  o.directory = dir.path + "/blocker/log";
  std::ofstream(dir.path + "/blocker") << "a file where the directory should be\n";
  RotatingFile f(spec(), o);
  EXPECT_TRUE(f.append("lost\n", "", 1000));
  fs::remove(dir.path + "/blocker");
  EXPECT_FALSE(f.append("kept\n", "", 1001));
  EXPECT_FALSE(f.flush());
  auto files = files_in(o.directory, ".log");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(slurp(files[0]), "#header\nkept\n");
}

TEST(LogWriter, WritesBothLogsAndNotesLossAfterRecovery) {
  TempDir dir;
  LogOptions o;
  o.directory = dir.path + "/blocker/log";
  std::ofstream(dir.path + "/blocker") << "x\n";
  {
    LogWriter w(o);
    w.submit(Stream::Tracking, "{\"event\":\"RECEIVE\",\"id\":\"a\"}\n", "a");
    w.drain();
    EXPECT_EQ(w.lost(Stream::Tracking), 1u);
    fs::remove(dir.path + "/blocker");
    // The writer retries at most once a second: lines keep being lost until then.
    for (int i = 0; i < 50 && files_in_or_none(o.directory, ".jsonl").empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      w.submit(Stream::Tracking, "{\"event\":\"RECEIVE\",\"id\":\"b\"}\n", "b");
      w.drain();
    }
    w.submit(Stream::Protocol, "p\n");
    w.drain();
  }
  auto tracking = files_in(o.directory, ".jsonl");
  ASSERT_EQ(tracking.size(), 1u);
  auto text = slurp(tracking[0]);
  EXPECT_NE(text.find("\"event\":\"LOST\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"id\":\"b\""), std::string::npos) << text;
  EXPECT_EQ(text.find("\"id\":\"a\""), std::string::npos) << text;
  auto protocol = files_in(o.directory, ".csv");
  ASSERT_EQ(protocol.size(), 1u);
  EXPECT_EQ(slurp(protocol[0]), std::string(kProtocolLogHeader) + "p\n");
}

TEST(ProtocolTrace, LinesMatchTheFormatAndAreNumbered) {
  TempDir dir;
  LogOptions o;
  o.directory = dir.path;
  {
    LogWriter w(o);
    ProtocolTrace t(&w, "in,bound", "s1");
    t.set_endpoints("127.0.0.1:25", "[::1]:4000");
    t.connect();
    t.sent("250-a\r\n250 b\r\n");
    t.received_command("AUTH PLAIN c2VjcmV0");
    t.disconnect("eof");
  }
  auto files = files_in(dir.path, ".csv");
  ASSERT_EQ(files.size(), 1u);
  std::istringstream in(slurp(files[0]));
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0] + "\n", std::string(kProtocolLogHeader));
  const std::vector<std::string> tails = {
      ",\"in,bound\",s1,0,127.0.0.1:25,[::1]:4000,+,",
      ",\"in,bound\",s1,1,127.0.0.1:25,[::1]:4000,>,250-a",
      ",\"in,bound\",s1,2,127.0.0.1:25,[::1]:4000,>,250 b",
      ",\"in,bound\",s1,3,127.0.0.1:25,[::1]:4000,<,AUTH PLAIN <secret>",
      ",\"in,bound\",s1,4,127.0.0.1:25,[::1]:4000,-,eof"};
  for (std::size_t i = 0; i < tails.size(); ++i) {
    EXPECT_EQ(lines[i + 1].substr(24), tails[i]) << lines[i + 1];
    EXPECT_EQ(lines[i + 1][23], 'Z');
  }
}

TEST(LogWriter, FullQueueDropsAndCounts) {
  TempDir dir;
  LogOptions o;
  o.directory = dir.path;
  o.queue_lines = 16;
  LogWriter w(o);
  for (int i = 0; i < 100000; ++i) w.submit(Stream::Protocol, "line\n");
  w.drain();
  // Whatever was dropped is counted, and what was not is in the file.
  auto files = files_in(dir.path, ".csv");
  ASSERT_EQ(files.size(), 1u);
  auto text = slurp(files[0]);
  std::size_t lines = 0;
  for (std::size_t p = 0; (p = text.find("line\n", p)) != std::string::npos; p += 5) ++lines;
  EXPECT_EQ(lines + w.lost(Stream::Protocol), 100000u);
}

}  // namespace
}  // namespace mailroom::journal
