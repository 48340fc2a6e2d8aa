// The queue from commit to final state with an injected clock: immediate local delivery, alias
// fan-out, deferral of non-local recipients with exponential backoff, expiry after the queue
// lifetime, DSNs to the sender, and recipient states that survive a restart.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>

#include "queue/admin_client.hpp"
#include "queue/runtime.hpp"
#include "queue/state_db.hpp"
#include "queue_test_support.hpp"
#include "spool/queue_file.hpp"

namespace mailroom::queue {
namespace {

using testing::FakeDirectory;
using testing::TempDir;

constexpr std::int64_t kStart = 1'800'000'000;

struct Harness {
  TempDir dir;
  config::Config cfg = testing::test_config(dir.path());
  std::shared_ptr<FakeDirectory> directory = std::make_shared<FakeDirectory>();
  std::shared_ptr<std::atomic<std::int64_t>> now =
      std::make_shared<std::atomic<std::int64_t>>(kStart);
  std::unique_ptr<QueueRuntime> rt;

  Harness() {
    directory->add_user("kate");
    directory->add_user("chris");
    directory->add_alias("sales", {"kate@example.test", "chris@example.test"});
    start();
  }
  void start() {
    RuntimeOptions o;
    o.background_delivery = false;
    o.outbound_delivery = false;  // no network here: non-local recipients stay deferred
    o.clock = [n = now] { return n->load(); };
    rt = QueueRuntime::start(cfg, directory, o);
  }
  void restart() {
    rt.reset();
    start();
  }

  std::string send(const std::string& sender, std::vector<EnvelopeRecipient> rcpts,
                   const std::string& message = "Subject: hi\r\n\r\nbody\r\n",
                   const std::string& body_type = "7BIT") {
    Envelope e;
    e.id = rt->queue().new_message_id();
    e.sender = sender;
    e.recipients = std::move(rcpts);
    e.body_type = body_type;
    e.arrival_unix = now->load();
    auto m = rt->queue().begin(e);
    EXPECT_FALSE(m->append(message));
    std::promise<std::error_code> p;
    rt->queue().commit(std::move(m), [&](std::error_code ec) { p.set_value(ec); });
    EXPECT_FALSE(p.get_future().get());
    rt->wait_for_commits();
    return e.id;
  }
  std::vector<std::string> mailbox(const std::string& user) {
    return testing::list_dir(cfg.mailbox_root() + "/example.test/" + user + "/new");
  }
  std::optional<QueuedMessageView> view(const std::string& id) {
    return read_queued_message(spool::QueuePaths(cfg.queue_dir()), id);
  }
};

EnvelopeRecipient rcpt(const std::string& a, unsigned notify = smtp::kNotifyDefault) {
  return {a, "", notify};
}

TEST(DeliverySchedule, LocalRecipientIsDeliveredAtOnceWithTraceHeadersAndLeavesTheQueue) {
  Harness h;
  auto id = h.send("chris@contoso.com", {rcpt("kate@example.test")},
                   "Return-Path: <forged@evil.test>\r\nSubject: hi\r\n\r\nbody\r\n");
  EXPECT_EQ(h.rt->run_deliveries_once(), 1u);
  auto files = h.mailbox("kate");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(testing::read_file(files[0]),
            "Return-Path: <chris@contoso.com>\nDelivered-To: kate@example.test\nSubject: hi\n\n"
            "body\n");
  EXPECT_EQ(h.rt->queued_messages(), 0u);
  EXPECT_FALSE(h.view(id));
}

// RFC 3030 3: a BODY=BINARYMIME message reaches the Maildir unaltered, its CRLFs included.
TEST(DeliverySchedule, BinaryMimeMessageIsStoredByteForByte) {
  Harness h;
  const std::string message = std::string("Subject: bin\r\n\r\na\r\nb\nc\rd\0\xff\x80\r\n", 24);
  h.send("chris@contoso.com", {rcpt("kate@example.test")}, message, "BINARYMIME");
  h.rt->run_deliveries_once();
  auto files = h.mailbox("kate");
  ASSERT_EQ(files.size(), 1u);
  auto text = testing::read_file(files[0]);
  EXPECT_EQ(
      text.rfind("Return-Path: <chris@contoso.com>\r\nDelivered-To: kate@example.test\r\n", 0), 0u)
      << text;
  ASSERT_GE(text.size(), message.size());
  EXPECT_TRUE(text.compare(text.size() - message.size(), message.size(), message) == 0)
      << "the stored message differs from the one queued";
}

TEST(DeliverySchedule, AliasFansOutOneCopyPerMailbox) {
  Harness h;
  h.send("chris@contoso.com", {rcpt("sales@example.test"), rcpt("kate@example.test")});
  h.rt->run_deliveries_once();
  // kate is reached twice (directly and through sales) but gets one copy.
  auto kate = h.mailbox("kate");
  auto chris = h.mailbox("chris");
  ASSERT_EQ(kate.size(), 1u);
  ASSERT_EQ(chris.size(), 1u);
  EXPECT_NE(testing::read_file(chris[0]).find("Delivered-To: chris@example.test\n"),
            std::string::npos);
  EXPECT_EQ(h.rt->queued_messages(), 0u);
}

TEST(DeliverySchedule, NonLocalRecipientIsDeferredWithExponentialBackoffThenBounced) {
  Harness h;
  auto id = h.send("chris@example.test", {rcpt("bob@remote.test"), rcpt("kate@example.test")});
  h.rt->run_deliveries_once();
  EXPECT_EQ(h.mailbox("kate").size(), 1u);
  std::vector<std::int64_t> delays;
  for (int attempt = 1; attempt <= 6; ++attempt) {
    auto v = h.view(id);
    ASSERT_TRUE(v);
    const auto& s = v->states[0];
    ASSERT_EQ(s.status, RecipientStatus::Deferred);
    EXPECT_EQ(s.attempts, static_cast<std::uint32_t>(attempt));
    EXPECT_EQ(s.reason.rfind("4.4.0 remote delivery not available", 0), 0u) << s.reason;
    EXPECT_EQ(v->states[1].status, RecipientStatus::Delivered);
    delays.push_back(s.next_attempt_unix - h.now->load());
    // One second early: nothing happens.
    h.now->store(s.next_attempt_unix - 1);
    h.rt->run_deliveries_once();
    EXPECT_EQ(h.view(id)->states[0].attempts, static_cast<std::uint32_t>(attempt));
    h.now->store(s.next_attempt_unix);
    h.rt->run_deliveries_once();
  }
  EXPECT_EQ(delays, (std::vector<std::int64_t>{300, 600, 1200, 2400, 4000, 4000}));
  EXPECT_EQ(h.mailbox("kate").size(), 1u);  // the delivered recipient is never retried
  EXPECT_TRUE(h.mailbox("chris").empty());  // no DSN while merely deferred

  h.now->store(kStart + 5 * 86400);
  h.rt->run_deliveries_once();
  EXPECT_FALSE(h.view(id));
  EXPECT_EQ(h.rt->queued_messages(), 0u);
  auto dsn = h.mailbox("chris");
  ASSERT_EQ(dsn.size(), 1u);
  auto text = testing::read_file(dsn[0]);
  EXPECT_NE(text.find("Return-Path: <>\n"), std::string::npos);
  EXPECT_NE(text.find("Final-Recipient: rfc822; bob@remote.test\n"), std::string::npos);
  EXPECT_NE(text.find("Action: failed\n"), std::string::npos);
  EXPECT_NE(text.find("Status: 4.4.7\n"), std::string::npos);
  EXPECT_EQ(text.find("kate@example.test\nAction"), std::string::npos);
}

// Issue 11: `mailroom queue flush` counted as an attempt and pushed the next retry further out.
// A flush retries deferred recipients now; if they defer again, their attempt count and the
// retry they were waiting for stay as they were (Postfix's postqueue -f does not lengthen the
// backoff either). The scheduled attempts keep their exponential backoff.
TEST(DeliverySchedule, AdminFlushRetriesNowWithoutLengtheningTheBackoff) {
  Harness h;
  auto id = h.send("chris@example.test", {rcpt("bob@remote.test")});
  h.rt->run_deliveries_once();
  ASSERT_EQ(h.view(id)->states[0].attempts, 1u);
  ASSERT_EQ(h.view(id)->states[0].next_attempt_unix, kStart + 300);
  auto db = StateDb::open(spool::QueuePaths(h.cfg.queue_dir()).state_db(), false);

  for (auto [at, flush_id] :
       {std::pair<std::int64_t, std::string>{kStart + 100, id}, {kStart + 200, std::string()}}) {
    h.now->store(at);
    db->post_command("flush", flush_id);
    EXPECT_EQ(h.rt->run_deliveries_once(), 1u) << "flush of " << (flush_id.empty() ? "*" : id);
    const auto s = h.view(id)->states[0];
    EXPECT_EQ(s.status, RecipientStatus::Deferred);
    EXPECT_EQ(s.last_attempt_unix, at);  // it was tried...
    EXPECT_EQ(s.attempts, 1u);           // ...but the backoff does not count it
    EXPECT_EQ(s.next_attempt_unix, kStart + 300);
  }
  // Nothing more happens before the scheduled retry, which counts and doubles the backoff.
  h.now->store(kStart + 299);
  EXPECT_EQ(h.rt->run_deliveries_once(), 0u);
  h.now->store(kStart + 300);
  h.rt->run_deliveries_once();
  EXPECT_EQ(h.view(id)->states[0].attempts, 2u);
  EXPECT_EQ(h.view(id)->states[0].next_attempt_unix, kStart + 300 + 600);
}

// Without a running server, `queue flush` is left for the next start, with the same rule.
TEST(DeliverySchedule, OfflineFlushIsCarriedOutAtStartWithoutLengtheningTheBackoff) {
  Harness h;
  auto id = h.send("chris@example.test", {rcpt("bob@remote.test")});
  h.rt->run_deliveries_once();
  h.rt.reset();  // the server stops
  h.now->store(kStart + 100);
  auto r =
      run_admin_command(spool::QueuePaths(h.cfg.queue_dir()), "flush", id, std::chrono::seconds(1));
  EXPECT_EQ(r.exit_code, 0) << r.text;
  EXPECT_EQ(h.view(id)->states[0].next_attempt_unix, kStart + 300);  // nothing changed yet
  h.start();
  h.rt->run_deliveries_once();
  const auto s = h.view(id)->states[0];
  EXPECT_EQ(s.last_attempt_unix, kStart + 100);
  EXPECT_EQ(s.attempts, 1u);
  EXPECT_EQ(s.next_attempt_unix, kStart + 300);
}

TEST(DeliverySchedule, UnknownUserAtDeliveryFailsAndBouncesUnlessNotifyNeverOrNullSender) {
  Harness h;
  h.send("chris@example.test", {rcpt("gone@example.test")});
  h.send("chris@example.test", {rcpt("gone@example.test", smtp::kNotifyNever)});
  h.send("", {rcpt("gone@example.test")});
  h.rt->run_deliveries_once();
  EXPECT_EQ(h.rt->queued_messages(), 0u);
  auto dsn = h.mailbox("chris");
  ASSERT_EQ(dsn.size(), 1u);
  auto text = testing::read_file(dsn[0]);
  EXPECT_NE(text.find("Status: 5.1.1\n"), std::string::npos);
  EXPECT_NE(text.find("Subject: Undelivered Mail Returned to Sender\n"), std::string::npos);
}

TEST(DeliverySchedule, NotifySuccessSendsADeliveryReport) {
  Harness h;
  h.send("chris@example.test",
         {rcpt("kate@example.test", smtp::kNotifySuccess | smtp::kNotifyFailure)});
  h.rt->run_deliveries_once();
  EXPECT_EQ(h.mailbox("kate").size(), 1u);
  auto dsn = h.mailbox("chris");
  ASSERT_EQ(dsn.size(), 1u);
  EXPECT_NE(testing::read_file(dsn[0]).find("Action: delivered\n"), std::string::npos);
}

TEST(DeliverySchedule, DeferredStateSurvivesARestart) {
  Harness h;
  auto id = h.send("chris@example.test", {rcpt("bob@remote.test")});
  h.rt->run_deliveries_once();
  h.restart();
  EXPECT_EQ(h.rt->queued_messages(), 1u);
  auto v = h.view(id);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->states[0].status, RecipientStatus::Deferred);
  EXPECT_EQ(v->states[0].attempts, 1u);
  // Not retried before its time just because the server restarted.
  h.rt->run_deliveries_once();
  EXPECT_EQ(h.view(id)->states[0].attempts, 1u);
  h.now->store(kStart + 300);
  h.rt->run_deliveries_once();
  EXPECT_EQ(h.view(id)->states[0].attempts, 2u);
}

TEST(DeliverySchedule, CommittedButUndeliveredMessageIsDeliveredAfterRestart) {
  Harness h;
  h.send("chris@contoso.com", {rcpt("kate@example.test")});
  h.restart();  // as after a crash between the 250 and delivery
  EXPECT_EQ(h.rt->queued_messages(), 1u);
  h.rt->run_deliveries_once();
  EXPECT_EQ(h.mailbox("kate").size(), 1u);
  EXPECT_EQ(h.rt->queued_messages(), 0u);
}

// A recovered queue file is checked against its checksum before anything is written: a damaged
// body is quarantined in queue/corrupt/, never delivered.
TEST(DeliverySchedule, RecoveredMessageWithADamagedBodyIsQuarantinedNotDelivered) {
  Harness h;
  auto id = h.send("chris@contoso.com", {rcpt("kate@example.test")});
  h.rt.reset();
  spool::QueuePaths paths(h.cfg.queue_dir());
  auto bytes = testing::read_file(paths.message_file(id));
  auto at = bytes.find("body");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = 'B';  // same size, one octet changed: only the checksum can tell
  std::ofstream(paths.message_file(id), std::ios::binary | std::ios::trunc) << bytes;
  h.start();
  ASSERT_EQ(h.rt->queued_messages(), 1u);
  h.rt->run_deliveries_once();
  EXPECT_TRUE(h.mailbox("kate").empty());
  EXPECT_EQ(h.rt->queued_messages(), 0u);
  EXPECT_TRUE(std::filesystem::exists(h.cfg.queue_dir() + "/corrupt/" + id));
  EXPECT_FALSE(std::filesystem::exists(paths.message_file(id)));
}

// A delivered message's queue file becomes a spare, and the next message is written into it
// whole (nothing of the first one left).
TEST(DeliverySchedule, DeliveredQueueFileIsReusedForTheNextMessage) {
  Harness h;
  spool::QueuePaths paths(h.cfg.queue_dir());
  h.send("chris@contoso.com", {rcpt("kate@example.test")},
         "Subject: first\r\n\r\n" + std::string(3000, 'x') + "\r\n");
  h.rt->run_deliveries_once();
  ASSERT_EQ(testing::list_dir(paths.spare_dir()).size(), 1u);
  auto id =
      h.send("dana@contoso.com", {rcpt("kate@example.test")}, "Subject: second\r\n\r\nhi\r\n");
  EXPECT_TRUE(testing::list_dir(paths.spare_dir()).empty());
  spool::QueueFileInfo info;
  ASSERT_FALSE(spool::read_queue_file_info(paths.message_file(id), info));
  EXPECT_FALSE(spool::verify_queue_file(paths.message_file(id), info));
  EXPECT_EQ(info.envelope.sender, "dana@contoso.com");
  h.rt->run_deliveries_once();
  auto files = h.mailbox("kate");
  ASSERT_EQ(files.size(), 2u);
  bool found = false;
  for (auto& f : files) {
    auto content = testing::read_file(f);
    if (content.find("Subject: second") == std::string::npos) continue;
    found = true;
    EXPECT_EQ(content.find("xxxx"), std::string::npos) << content;
    EXPECT_NE(content.find("\n\nhi\n"), std::string::npos) << content;
  }
  EXPECT_TRUE(found);
}

// A power cut right after a spare was renamed for a new message, before any of the new bytes
// reached the disk, leaves the old (delivered) message whole, with a valid checksum, under the new
// id. It must not be delivered again: its envelope names the old id, so recovery quarantines it.
TEST(DeliverySchedule, ReusedFileStillHoldingTheDeliveredMessageIsNotDeliveredAgain) {
  Harness h;
  spool::QueuePaths paths(h.cfg.queue_dir());
  auto old_id = h.send("chris@contoso.com", {rcpt("kate@example.test")});
  auto old_bytes = testing::read_file(paths.message_file(old_id));
  h.rt->run_deliveries_once();
  ASSERT_EQ(h.mailbox("kate").size(), 1u);
  auto new_id = h.rt->queue().new_message_id();
  h.rt.reset();
  std::ofstream(paths.message_file(new_id), std::ios::binary) << old_bytes;
  spool::QueueFileInfo info;
  ASSERT_FALSE(spool::read_queue_file_info(paths.message_file(new_id), info));
  ASSERT_FALSE(spool::verify_queue_file(paths.message_file(new_id), info));  // only the id tells
  h.start();
  EXPECT_EQ(h.rt->queued_messages(), 0u);
  h.rt->run_deliveries_once();
  EXPECT_EQ(h.mailbox("kate").size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(paths.corrupt_dir() + "/" + new_id));
  EXPECT_FALSE(std::filesystem::exists(paths.message_file(new_id)));
}

// A queue left by an earlier version (V1 footer, BLAKE2b-128) is delivered after an upgrade.
TEST(DeliverySchedule, QueueFileWrittenByAnEarlierVersionIsDeliveredAfterUpgrade) {
  Harness h;
  auto id = h.send("chris@contoso.com", {rcpt("kate@example.test")});
  h.rt.reset();
  spool::QueuePaths paths(h.cfg.queue_dir());
  spool::QueueFileInfo info;
  ASSERT_FALSE(spool::read_queue_file_info(paths.message_file(id), info));
  auto body = testing::read_file(paths.message_file(id)).substr(0, info.body_bytes);
  spool::QueueFileHasher v1(spool::QueueFileFormat::V1);
  v1.update(body);
  std::ofstream(paths.message_file(id), std::ios::binary | std::ios::trunc)
      << body << spool::encode_trailer(info.envelope, body.size(), v1);
  h.start();
  ASSERT_EQ(h.rt->queued_messages(), 1u);
  h.rt->run_deliveries_once();
  ASSERT_EQ(h.mailbox("kate").size(), 1u);
  EXPECT_NE(testing::read_file(h.mailbox("kate")[0]).find("\nbody\n"), std::string::npos);
  EXPECT_EQ(h.rt->queued_messages(), 0u);
}

// kill -9 after the Maildir rename but before the queue removed the message: the restarted queue
// finds the copy (named after the queue id) and does not deliver it again.
TEST(DeliverySchedule, RecoveredMessageWhoseCopyIsInTheMaildirIsNotDeliveredTwice) {
  Harness h;
  auto id = h.send("chris@contoso.com", {rcpt("kate@example.test"), rcpt("sales@example.test")});
  spool::QueuePaths paths(h.cfg.queue_dir());
  auto saved = testing::read_file(paths.message_file(id));
  h.rt->run_deliveries_once();
  ASSERT_EQ(h.mailbox("kate").size(), 1u);
  ASSERT_EQ(h.mailbox("chris").size(), 1u);
  h.rt.reset();
  std::ofstream(paths.message_file(id), std::ios::binary) << saved;  // the unlink never happened
  // chris's copy was lost meanwhile (say, his Maildir was restored from a backup): he gets it
  // again, kate does not.
  std::filesystem::remove(h.mailbox("chris")[0]);
  h.start();
  ASSERT_EQ(h.rt->queued_messages(), 1u);
  h.rt->run_deliveries_once();
  EXPECT_EQ(h.mailbox("kate").size(), 1u);
  EXPECT_EQ(h.mailbox("chris").size(), 1u);
  EXPECT_EQ(h.rt->queued_messages(), 0u);
}

}  // namespace
}  // namespace mailroom::queue
