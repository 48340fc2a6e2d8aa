// The dispatcher: items split by transport, copies already delivered skipped, dispositions merged
// per recipient (deferred beats failed beats delivered), and a transport without an agent deferred.
#include "delivery/dispatcher.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "queue/queue_test_support.hpp"

namespace mailroom::delivery {
namespace {

// Answers each item from a table keyed by destination address; records what it was given.
class ScriptedAgent : public DeliveryAgent {
 public:
  std::map<std::string, ItemResult> answers;
  std::vector<AgentJob> seen;
  std::vector<AgentJobResult> deliver(const std::vector<AgentJob>& jobs) override {
    std::vector<AgentJobResult> out;
    for (const auto& job : jobs) {
      seen.push_back(job);
      auto& r = out.emplace_back();
      for (const auto& item : job.items) {
        auto it = answers.find(item.destination.address);
        r.items.push_back(
            it != answers.end()
                ? it->second
                : item_result(Disposition::Delivered, "2.0.0 ok " + item.destination.address));
      }
    }
    return out;
  }
};

// A queue file's body part: the dispatcher reads the header section from it.
std::string message_file(const std::string& headers) {
  static testing::TempDir dir;
  static int n = 0;
  auto path = dir.path() + "/" + std::to_string(++n);
  std::ofstream(path, std::ios::binary) << headers << "\r\nbody\r\n";
  return path;
}

DeliveryJob job_for(std::vector<std::string> recipients,
                    const std::string& headers = "Subject: x\r\n") {
  DeliveryJob job;
  job.message_path = message_file(headers);
  job.info.body_bytes = headers.size() + 8;
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    job.info.envelope.recipients.push_back({recipients[i], "", 0});
    job.recipients.push_back({i, {}});
  }
  return job;
}

struct Fixture {
  std::shared_ptr<testing::FakeDirectory> dir = std::make_shared<testing::FakeDirectory>();
  Router router{{}, dir};
  ScriptedAgent maildir;
  ScriptedAgent smtp;
  Fixture() {
    dir->add_user("kate");
    dir->add_user("chris");
    dir->add_alias("team", {"kate@example.test", "chris@example.test", "boss@partner.example"});
  }
};

TEST(Dispatcher, EachTransportGetsItsOwnItemsOnce) {
  Fixture f;
  Dispatcher d(f.router, {{Transport::Maildir, &f.maildir}, {Transport::Smtp, &f.smtp}});
  auto results = d.deliver({job_for({"team@example.test", "x@fabrikam.com"})});
  ASSERT_EQ(f.maildir.seen.size(), 1u);
  EXPECT_EQ(f.maildir.seen[0].items.size(), 2u);
  ASSERT_EQ(f.smtp.seen.size(), 1u);
  ASSERT_EQ(f.smtp.seen[0].items.size(), 2u);
  EXPECT_EQ(f.smtp.seen[0].items[0].recipient, 0u);
  EXPECT_EQ(f.smtp.seen[0].items[1].recipient, 1u);
  ASSERT_EQ(results.size(), 1u);
  ASSERT_EQ(results[0].recipients.size(), 2u);
  EXPECT_EQ(results[0].recipients[0].disposition, Disposition::Delivered);
  EXPECT_EQ(results[0].recipients[0].delivered_to,
            (std::vector<std::string>{"kate@example.test", "chris@example.test",
                                      "boss@partner.example"}));
}

TEST(Dispatcher, DeferredCopyDefersTheRecipientAndKeepsTheOthersDelivered) {
  Fixture f;
  f.maildir.answers["chris@example.test"] =
      item_result(Disposition::Deferred, "4.2.2 mailbox full");
  f.smtp.answers["boss@partner.example"] = item_result(Disposition::Failed, "5.1.1 remote says no");
  Dispatcher d(f.router, {{Transport::Maildir, &f.maildir}, {Transport::Smtp, &f.smtp}});
  auto r = d.deliver({job_for({"team@example.test"})})[0].recipients[0];
  EXPECT_EQ(r.disposition, Disposition::Deferred);
  EXPECT_EQ(r.reason, "4.2.2 mailbox full");
  EXPECT_EQ(r.delivered_to, std::vector<std::string>{"kate@example.test"});
}

TEST(Dispatcher, FailedCopyFailsTheRecipientWhenNothingIsDeferred) {
  Fixture f;
  f.smtp.answers["boss@partner.example"] = item_result(Disposition::Failed, "5.1.1 remote says no");
  Dispatcher d(f.router, {{Transport::Maildir, &f.maildir}, {Transport::Smtp, &f.smtp}});
  auto r = d.deliver({job_for({"team@example.test"})})[0].recipients[0];
  EXPECT_EQ(r.disposition, Disposition::Failed);
  EXPECT_EQ(r.reason, "5.1.1 remote says no");
}

TEST(Dispatcher, RetrySkipsCopiesAlreadyDelivered) {
  Fixture f;
  Dispatcher d(f.router, {{Transport::Maildir, &f.maildir}, {Transport::Smtp, &f.smtp}});
  auto job = job_for({"team@example.test"});
  job.recipients[0].delivered_to = {"kate@example.test", "boss@partner.example"};
  auto r = d.deliver({job})[0].recipients[0];
  ASSERT_EQ(f.maildir.seen.size(), 1u);
  ASSERT_EQ(f.maildir.seen[0].items.size(), 1u);
  EXPECT_EQ(f.maildir.seen[0].items[0].destination.address, "chris@example.test");
  EXPECT_TRUE(f.smtp.seen.empty());
  EXPECT_EQ(r.disposition, Disposition::Delivered);
  EXPECT_EQ(r.delivered_to.size(), 3u);
}

TEST(Dispatcher, TransportWithoutAnAgentIsDeferredNotDropped) {
  Fixture f;
  Dispatcher d(f.router, {{Transport::Maildir, &f.maildir}});
  auto r = d.deliver({job_for({"x@fabrikam.com", "kate@example.test"})})[0].recipients;
  EXPECT_EQ(r[0].disposition, Disposition::Deferred);
  EXPECT_EQ(r[0].reason, "4.4.0 remote delivery not available");
  EXPECT_EQ(r[1].disposition, Disposition::Delivered);
}

TEST(Dispatcher, TooManyHopsFailsEveryRecipientAsALoop) {
  Fixture f;
  Dispatcher d(f.router, {{Transport::Maildir, &f.maildir}, {Transport::Smtp, &f.smtp}}, {50});
  std::string headers;
  for (int i = 0; i < 51; ++i)
    headers += "Received: from a by b; Mon, 30 Nov 2026 10:00:00 +0000\r\n";
  auto r = d.deliver({job_for({"kate@example.test", "x@fabrikam.com"}, headers)})[0].recipients;
  EXPECT_EQ(r[0].disposition, Disposition::Failed);
  EXPECT_EQ(r[0].reason, "5.4.6 too many hops (51 Received: header fields, at most 50): mail loop");
  EXPECT_EQ(r[1].disposition, Disposition::Failed);
  EXPECT_TRUE(f.maildir.seen.empty());
  EXPECT_TRUE(f.smtp.seen.empty());
  // At the limit, delivery goes on; agents get the header section read once.
  headers.erase(0, headers.find('\n') + 1);
  auto ok = d.deliver({job_for({"kate@example.test"}, headers)})[0].recipients;
  EXPECT_EQ(ok[0].disposition, Disposition::Delivered);
  ASSERT_EQ(f.maildir.seen.size(), 1u);
  EXPECT_EQ(f.maildir.seen[0].headers, headers);
}

TEST(Dispatcher, RouteFailureFailsWithoutCallingAnyAgent) {
  Fixture f;
  Dispatcher d(f.router, {{Transport::Maildir, &f.maildir}});
  auto r = d.deliver({job_for({"ghost@example.test"})})[0].recipients[0];
  EXPECT_EQ(r.disposition, Disposition::Failed);
  EXPECT_EQ(r.reason, "5.1.1 <ghost@example.test>: user unknown");
  EXPECT_TRUE(f.maildir.seen.empty());
}

}  // namespace
}  // namespace mailroom::delivery
