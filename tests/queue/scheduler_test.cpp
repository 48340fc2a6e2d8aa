#include "queue/scheduler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

namespace mailroom::queue {
namespace {

MessageRecord record(const std::string& id, std::vector<RecipientState> states) {
  MessageRecord r;
  r.envelope.id = id;
  r.envelope.recipients.resize(states.size());
  r.states = std::move(states);
  return r;
}

RecipientState deferred_until(std::int64_t t) {
  RecipientState s;
  s.status = RecipientStatus::Deferred;
  s.next_attempt_unix = t;
  return s;
}

TEST(Scheduler, PendingMessageIsReadyAtOnceAndHandedOutOnlyOnce) {
  Scheduler s;
  s.add(record("a", {RecipientState{}}), 100);
  auto first = s.take_ready(10);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(s.take_ready(10).empty());
  EXPECT_EQ(s.in_flight(), 1u);
  // In flight: admin access is refused until the worker completes it.
  MessageRecord out;
  EXPECT_EQ(s.remove_idle("a", out), Scheduler::Access::Busy);
  s.complete("a", std::nullopt, 100);
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.remove_idle("a", out), Scheduler::Access::NotFound);
}

TEST(Scheduler, DeferredMessageWaitsForItsEarliestRecipient) {
  Scheduler s;
  s.add(record("a", {deferred_until(500), deferred_until(300)}), 100);
  EXPECT_TRUE(s.take_ready(10).empty());
  EXPECT_EQ(s.next_due(), 300);
  EXPECT_EQ(s.promote_due(299), 0u);
  EXPECT_EQ(s.promote_due(300), 1u);
  EXPECT_EQ(s.take_ready(10).size(), 1u);
}

TEST(Scheduler, FinalButUnnotifiedRecipientKeepsTheMessageDue) {
  RecipientState failed;
  failed.status = RecipientStatus::Failed;
  failed.notified = false;  // its DSN is still to be queued
  Scheduler s;
  s.add(record("a", {failed, deferred_until(10'000)}), 100);
  EXPECT_EQ(s.take_ready(10).size(), 1u);
}

TEST(Scheduler, HoldUntilDelaysEvenPendingWork) {
  auto r = record("a", {RecipientState{}});
  r.hold_until = 160;
  Scheduler s;
  s.add(std::move(r), 100);
  EXPECT_TRUE(s.take_ready(10).empty());
  EXPECT_EQ(s.promote_due(160), 1u);
  EXPECT_EQ(s.take_ready(10).size(), 1u);
}

TEST(Scheduler, CompleteWithNewStateReschedules) {
  Scheduler s;
  s.add(record("a", {RecipientState{}}), 100);
  auto taken = s.take_ready(1);
  ASSERT_EQ(taken.size(), 1u);
  taken[0].states[0] = deferred_until(400);
  s.complete("a", taken[0], 100);
  EXPECT_EQ(s.in_flight(), 0u);
  EXPECT_EQ(s.next_due(), 400);
  // An admin flush: with_idle_record + reschedule makes it due now.
  EXPECT_EQ(s.with_idle_record("a", [](MessageRecord& r) { r.states[0].next_attempt_unix = 100; }),
            Scheduler::Access::Done);
  s.reschedule("a", 100);
  EXPECT_EQ(s.take_ready(10).size(), 1u);
}

TEST(Scheduler, BatchSizeIsRespectedAndStopWakesWaiters) {
  Scheduler s;
  for (int i = 0; i < 5; ++i) s.add(record("m" + std::to_string(i), {RecipientState{}}), 0);
  EXPECT_EQ(s.take_ready(2).size(), 2u);
  EXPECT_EQ(s.wait_take_ready(10).size(), 3u);
  s.stop();
  EXPECT_TRUE(s.wait_take_ready(10).empty());  // returns at once when stopping
}

// A commit batch wakes one worker, which takes all of it in one round; the deferred ones of the
// batch stay out of the ready list.
TEST(Scheduler, AddAllHandsACommitBatchToOneWorker) {
  Scheduler s;
  std::vector<MessageRecord> batch;
  for (int i = 0; i < 6; ++i) batch.push_back(record("m" + std::to_string(i), {RecipientState{}}));
  batch.push_back(record("later", {deferred_until(500)}));
  std::vector<MessageRecord> taken;
  std::thread worker([&] { taken = s.wait_take_ready(32); });
  s.add_all(std::move(batch), 100);
  worker.join();
  EXPECT_EQ(taken.size(), 6u);
  EXPECT_EQ(s.size(), 7u);
  EXPECT_EQ(s.next_due(), 500);
}

// Waking one worker per batch must never strand work: with several workers and small rounds,
// every message of many batches is taken exactly once.
TEST(Scheduler, NoReadyMessageIsStrandedWhileWorkersSleep) {
  Scheduler s;
  std::mutex m;
  std::vector<std::string> seen;
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w)
    workers.emplace_back([&] {
      for (;;) {
        auto got = s.wait_take_ready(2);
        if (got.empty()) return;
        std::lock_guard lock(m);
        for (auto& r : got) seen.push_back(r.envelope.id);
      }
    });
  constexpr int kBatches = 50, kPerBatch = 7;
  for (int b = 0; b < kBatches; ++b) {
    std::vector<MessageRecord> batch;
    for (int i = 0; i < kPerBatch; ++i)
      batch.push_back(record(std::to_string(b) + "." + std::to_string(i), {RecipientState{}}));
    s.add_all(std::move(batch), 0);
  }
  // Workers only return when stopped, so wait until everything was taken (a stranded message
  // makes this loop, and the test, time out).
  for (;;) {
    {
      std::lock_guard lock(m);
      if (seen.size() >= static_cast<std::size_t>(kBatches * kPerBatch)) break;
    }
    std::this_thread::yield();
  }
  s.stop();
  for (auto& t : workers) t.join();
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end());
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kBatches * kPerBatch));
}

}  // namespace
}  // namespace mailroom::queue
