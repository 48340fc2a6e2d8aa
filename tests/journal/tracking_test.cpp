#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "journal/log_writer.hpp"
#include "journal/temp_dir.hpp"
#include "journal/track_reader.hpp"
#include "journal/track_render.hpp"
#include "journal/tracking_event.hpp"

namespace mailroom::journal {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

TrackingEvent receive(const std::string& id, std::int64_t ms) {
  TrackingEvent e;
  e.unix_ms = ms;
  e.event = "RECEIVE";
  e.id = id;
  e.client = "127.0.0.1";
  e.listener = "inbound";
  e.size = 1234;
  e.message_id = "<" + id + "@client.example>";
  e.sender = "alice@example.org";
  e.recipients = {"bob@example.test", "carol@example.test"};
  return e;
}

TrackingEvent outcome(const std::string& event, const std::string& id, const std::string& rcpt,
                      std::int64_t ms) {
  TrackingEvent e;
  e.unix_ms = ms;
  e.event = event;
  e.id = id;
  e.recipient = rcpt;
  e.next_hop = "maildir";
  e.reply = "2.0.0 delivered";
  return e;
}

TEST(TrackingEvent, RoundTrips) {
  auto e = receive("abc", 1796043901123);
  auto line = format_tracking_line(e);
  EXPECT_EQ(line.back(), '\n');
  auto back = parse_tracking_line(line.substr(0, line.size() - 1));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->time_text, "2026-11-30T13:05:01.123Z");
  EXPECT_EQ(back->event, "RECEIVE");
  EXPECT_EQ(back->id, "abc");
  EXPECT_EQ(back->size, 1234u);
  EXPECT_EQ(back->recipients, e.recipients);
  EXPECT_EQ(back->message_id, "<abc@client.example>");
}

TEST(TrackingEvent, InvalidUtf8FromPeersDoesNotThrow) {
  auto e = outcome("FAIL", "abc", "x@y", 1);
  e.reply = "550 bad \xff\xfe byte";
  auto line = format_tracking_line(e);
  EXPECT_TRUE(parse_tracking_line(line));
}

TEST(TrackingEvent, GarbageIsDamagedNotACrash) {
  for (std::string_view bad :
       {"", "{", "}", "null", "[]", "{\"event\":1}", "{\"id\":\"x\"}",
        "{\"event\":\"RECEIVE\",\"size\":-1}", "{\"event\":\"RECEIVE\",\"recipients\":[1]}",
        "{\"event\":\"RECEIVE\",\"recipients\":\"x\"}", "{\"event\":\"X\",\"id\":[]}",
        "\xff\xfe{\"event\"", "{\"event\":\"RECEIVE\",\"id\":\"a\"", "{\"event\":\"A\"}}"})
    EXPECT_FALSE(parse_tracking_line(bad)) << bad;
  EXPECT_TRUE(parse_tracking_line("{\"event\":\"LOST\",\"lost\":3}"));
}

class TrackReaderTest : public ::testing::Test {
 protected:
  TempDir dir;
  void write(const std::string& name, const std::string& text, const std::string& index = "") {
    std::ofstream(dir.path + "/" + name) << text;
    if (!index.empty()) std::ofstream(dir.path + "/" + name + ".idx") << index;
  }
  static std::string line(const TrackingEvent& e) { return format_tracking_line(e); }
};

TEST_F(TrackReaderTest, FollowsOneMessageAndItsDsnAcrossFiles) {
  const std::int64_t t = 1796043901000;
  auto dsn = outcome("DSN", "m1", "", t + 3000);
  dsn.dsn_id = "d1";
  dsn.kind = "failed";
  dsn.sender = "alice@example.org";
  write("tracking-20261130T130501Z-0.jsonl",
        line(receive("m1", t)) + line(receive("m2", t + 1)) +
            line(outcome("DELIVER", "m1", "bob@example.test", t + 2000)) +
            line(outcome("FAIL", "m1", "carol@example.test", t + 2500)) + line(dsn));
  write("tracking-20261130T140501Z-0.jsonl",
        line(outcome("DELIVER", "d1", "alice@example.org", t + 4000)));
  TrackQuery q;
  q.id = "m1";
  auto r = track(dir.path, q);
  ASSERT_EQ(r.events.size(), 5u);
  EXPECT_EQ(r.events[0].event, "RECEIVE");
  EXPECT_EQ(r.events[3].event, "DSN");
  EXPECT_EQ(r.events[4].id, "d1");
  EXPECT_EQ(r.damaged_lines, 0u);
  auto table = render_track_table(r);
  EXPECT_NE(table.find("<bob@example.test> DELIVER"), std::string::npos) << table;
  EXPECT_NE(table.find("<carol@example.test> FAIL"), std::string::npos) << table;
  auto json = render_track_json(r);
  EXPECT_NE(json.find("\"damaged_lines\": 0"), std::string::npos) << json;
}

TEST_F(TrackReaderTest, FiltersBySenderRecipientMessageIdAndSince) {
  const std::int64_t t = 1796043901000;
  auto other = receive("m2", t + 60000);
  other.sender = "zed@example.org";
  other.recipients = {"dave@example.test"};
  other.message_id = "<other@x>";
  write("tracking-20261130T130501Z-0.jsonl", line(receive("m1", t)) + line(other));
  TrackQuery q;
  q.from = "ZED@example.org";
  EXPECT_EQ(track(dir.path, q).events.at(0).id, "m2");
  q = {};
  q.to = "carol@example.test";
  EXPECT_EQ(track(dir.path, q).events.at(0).id, "m1");
  q = {};
  q.message_id = "other@x";  // with or without <>
  EXPECT_EQ(track(dir.path, q).events.at(0).id, "m2");
  q = {};
  q.since = "2026-11-30T13:05:30.000Z";
  auto r = track(dir.path, q);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].id, "m2");
}

TEST_F(TrackReaderTest, DamagedLinesAreSkippedAndCounted) {
  const std::int64_t t = 1796043901000;
  auto good = line(receive("m1", t));
  write("tracking-20261130T130501Z-0.jsonl",
        good + "garbage\n" + good.substr(0, good.size() / 2) + "\n" +
            "{\"event\":1,\"id\":\"m1\"}\n" + std::string("\x00\x01\xff", 3) + "\n" +
            line(outcome("DELIVER", "m1", "bob@example.test", t + 5)) +
            good.substr(0, 30));  // truncated last line, no newline
  TrackQuery q;
  q.from = "alice@example.org";
  auto r = track(dir.path, q);
  EXPECT_EQ(r.events.size(), 2u);
  // The object-shaped {"event":1,...} is only parsed (and found damaged) where it could matter:
  // a filter scan parses RECEIVE lines only, an id lookup the lines holding the id.
  EXPECT_EQ(r.damaged_lines, 4u);
  q = {};
  q.id = "m1";
  r = track(dir.path, q);
  EXPECT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.damaged_lines, 5u);
}

TEST_F(TrackReaderTest, IndexedFilesWithoutTheIdAreNotRead) {
  const std::int64_t t = 1796043901000;
  write("tracking-20261130T120000Z-0.jsonl", "not even json, never read\n",
        "#first=1796040000 last=1796043000\nm0\n");
  write("tracking-20261130T130501Z-0.jsonl", line(receive("m9", t)),
        "#first=1796043901 last=1796043902\nm9\n");
  write("tracking-20261130T130502Z-0.jsonl", line(receive("m1", t)),
        "#first=1796043901 last=1796043902\nm1\n");
  write("tracking-20261130T140000Z-0.jsonl", line(outcome("DELIVER", "m1", "bob@x", t + 9)));
  TrackQuery q;
  q.id = "m1";
  q.id_time_unix = 1796043901;
  auto r = track(dir.path, q);
  EXPECT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.files_read, 2u);  // m1's indexed file and the one without an index
  EXPECT_EQ(r.files_skipped, 2u);
  EXPECT_EQ(r.damaged_lines, 0u);  // the garbage file was never opened
}

TEST_F(TrackReaderTest, WriterIndexesWhatTheReaderFinds) {
  LogOptions o;
  o.directory = dir.path;
  o.max_file_bytes = 4096;
  {
    LogWriter w(o);
    install_writer(&w);
    for (int i = 0; i < 200; ++i) record(receive("m" + std::to_string(i), 0));
    install_writer(nullptr);
  }
  TrackQuery q;
  q.id = "m150";
  auto r = track(dir.path, q);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.files_read, 1u);
  EXPECT_GT(r.files_skipped, 3u);
}

TEST(TrackSince, ParsesTimesAndAges) {
  EXPECT_EQ(parse_since("2026-11-30T13:05:01Z", 0), 1796043901);
  EXPECT_EQ(parse_since("2026-11-30 13:05:01", 0), 1796043901);
  EXPECT_EQ(parse_since("2026-11-30T13:05", 0), 1796043900);
  EXPECT_EQ(parse_since("2026-11-30", 0), 1796043901 - (13 * 3600 + 5 * 60 + 1));
  EXPECT_EQ(parse_since("2h", 10000), 10000 - 7200);
  EXPECT_EQ(parse_since("7d", 1000000), 1000000 - 7 * 86400);
  EXPECT_FALSE(parse_since("yesterday", 0));
  EXPECT_FALSE(parse_since("h", 0));
  EXPECT_FALSE(parse_since("", 0));
}

}  // namespace
}  // namespace mailroom::journal
