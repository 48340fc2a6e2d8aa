#include "journal/json_line.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "journal/tracking_event.hpp"

namespace mailroom::journal {
namespace {

using nlohmann::json;

// What the tracking log wrote before json_line: a nlohmann::json object, dumped compactly.
std::string nlohmann_line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string random_text(std::mt19937& rng) {
  static const std::vector<std::string> pieces = {"a",
                                                  "Z",
                                                  "0",
                                                  " ",
                                                  "\"",
                                                  "\\",
                                                  "/",
                                                  "\n",
                                                  "\r",
                                                  "\t",
                                                  "\b",
                                                  "\f",
                                                  std::string(1, '\0'),
                                                  "\x01",
                                                  "\x1f",
                                                  "\x7f",
                                                  "é",
                                                  "€",
                                                  "𝄞",
                                                  "<a@b>",
                                                  "550 5.1.1 no such user",
                                                  "{",
                                                  "}",
                                                  ",",
                                                  ":",
                                                  "\"id\":\""};
  std::string s;
  const auto n = std::uniform_int_distribution<int>(0, 12)(rng);
  for (int i = 0; i < n; ++i)
    s += pieces[std::uniform_int_distribution<std::size_t>(0, pieces.size() - 1)(rng)];
  return s;
}

TEST(JsonLine, WritesWhatNlohmannWroteForWellFormedText) {
  std::mt19937 rng(20261130);
  for (int round = 0; round < 2000; ++round) {
    const auto a = random_text(rng), b = random_text(rng), c = random_text(rng);
    const std::uint64_t n = rng();
    std::vector<std::string> list = {random_text(rng), random_text(rng)};
    json j;
    j["alpha"] = a;
    j["beta"] = b;
    j["count"] = n;
    j["list"] = list;
    j["zeta"] = c;
    const auto ours = JsonLine()
                          .add("alpha", a)
                          .add("beta", b)
                          .add("count", n)
                          .add("list", list)
                          .add("zeta", c)
                          .finish();
    ASSERT_EQ(ours, nlohmann_line(j)) << "round " << round;
  }
}

TEST(JsonLine, IllFormedUtf8BecomesReplacementCharactersAndStillParses) {
  for (std::string bad : {"550 \xff\xfe byte", "\xc3", "\xe2\x82", "\xed\xa0\x80 surrogate",
                          "\xc0\xaf overlong", "ok \xf4\x90\x80\x80 too high"}) {
    const auto line = JsonLine().add("reply", bad).finish();
    auto j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    const auto text = j["reply"].get<std::string>();
    EXPECT_NE(text.find("\xEF\xBF\xBD"), std::string::npos) << line;
  }
  EXPECT_EQ(JsonLine()
                .add("r",
                     "a\xff"
                     "b")
                .finish(),
            "{\"r\":\"a\xEF\xBF\xBD"
            "b\"}\n");
}

TEST(JsonLine, KeysOutOfOrderAreRefused) {
  JsonLine j;
  j.add("id", "x");
  EXPECT_THROW(j.add("event", "RECEIVE"), std::logic_error);
  EXPECT_THROW(j.add("id", "again"), std::logic_error);
}

TEST(JsonLine, TrackingLinesAreTheOldNlohmannText) {
  TrackingEvent e;
  e.unix_ms = 1796043901123;
  e.event = "RECEIVE";
  e.id = "1k1g3wv4ygs009pdacayn";
  e.client = "192.0.2.7";
  e.listener = "inbound";
  e.auth_user = "kate";
  e.size = 4427;
  e.message_id = "<m1@client.example>";
  e.sender = "";
  e.recipients = {"bob@example.test", "carol@example.test"};
  json j;
  j["time"] = "2026-11-30T13:05:01.123Z";
  j["event"] = "RECEIVE";
  j["id"] = e.id;
  j["client"] = e.client;
  j["listener"] = e.listener;
  j["auth_user"] = e.auth_user;
  j["size"] = e.size;
  j["message_id"] = e.message_id;
  j["sender"] = "";
  j["recipients"] = e.recipients;
  EXPECT_EQ(format_tracking_line(e), nlohmann_line(j));

  TrackingEvent d;
  d.unix_ms = 1796043901123;
  d.event = "DEFER";
  d.id = "abc";
  d.recipient = "x@remote.example";
  d.next_hop = "mx1.remote.example[192.0.2.25]:25";
  d.reply = "451 4.7.1 \"greylisted\"\r\n";
  d.retry_at_unix = 1796044000;
  json k;
  k["time"] = "2026-11-30T13:05:01.123Z";
  k["event"] = "DEFER";
  k["id"] = "abc";
  k["recipient"] = d.recipient;
  k["next_hop"] = d.next_hop;
  k["reply"] = d.reply;
  k["retry_at"] = "2026-11-30T13:06:40.000Z";
  EXPECT_EQ(format_tracking_line(d), nlohmann_line(k));

  EXPECT_EQ(
      tracking_loss_note(3, 1796043901),
      nlohmann_line(json{{"time", "2026-11-30T13:05:01.000Z"}, {"event", "LOST"}, {"lost", 3}}));
}

}  // namespace
}  // namespace mailroom::journal
