// GroupCommitter's directory syncs for the delivery side (sync_messages_dir,
// request_messages_dir_sync): an idle committer wakes for one, a request rides on the next batch,
// and a stopped committer still syncs. Committing messages is tested through the queue runtime
// (queue_commit_test.cpp, delivery_schedule_test.cpp).
#include "queue/group_commit.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "queue_test_support.hpp"

namespace mailroom::queue {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

struct Committer {
  TempDir tmp;
  spool::QueuePaths paths{tmp.path() + "/queue"};
  util::SyncPool pool{2};
  std::unique_ptr<GroupCommitter> committer;
  Committer() {
    EXPECT_FALSE(spool::ensure_queue_dirs(paths));
    committer = std::make_unique<GroupCommitter>(paths, pool, nullptr,
                                                 [](std::vector<CommittedMessage>&&) {});
  }
};

// Runs `fn` on a thread and fails (instead of hanging the suite) when it does not return.
template <typename Fn>
auto within_10s(Fn fn) {
  auto done = std::async(std::launch::async, fn);
  if (done.wait_for(10s) != std::future_status::ready) {
    ADD_FAILURE() << "did not return within 10 s";
    std::abort();  // the thread cannot be abandoned safely
  }
  return done.get();
}

TEST(GroupCommitterDirectorySync, AnIdleCommitterWakesForAWaitingSync) {
  Committer c;
  const auto before = c.committer->batches();
  auto ec = within_10s([&] { return c.committer->sync_messages_dir(); });
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(c.committer->batches(), before + 1);  // a batch of its own: nothing else was pending
}

TEST(GroupCommitterDirectorySync, ARequestIsCarriedOutWithoutAWaiter) {
  Committer c;
  const auto before = c.committer->batches();
  c.committer->request_messages_dir_sync();
  for (int i = 0; i < 1000 && c.committer->batches() == before; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(c.committer->batches(), before + 1);
}

TEST(GroupCommitterDirectorySync, ManyWaitersShareBatches) {
  Committer c;
  std::vector<std::future<std::error_code>> waiters;
  for (int i = 0; i < 16; ++i)
    waiters.push_back(
        std::async(std::launch::async, [&] { return c.committer->sync_messages_dir(); }));
  for (auto& w : waiters) {
    ASSERT_EQ(w.wait_for(10s), std::future_status::ready);
    EXPECT_FALSE(w.get());
  }
  // Each waiter needs a batch taken after it asked; waiters that asked together share one.
  EXPECT_GE(c.committer->batches(), 1u);
  EXPECT_LE(c.committer->batches(), 16u);
}

TEST(GroupCommitterDirectorySync, AStoppedCommitterStillSyncs) {
  Committer c;
  c.committer->stop();
  auto ec = within_10s([&] { return c.committer->sync_messages_dir(); });
  EXPECT_FALSE(ec) << ec.message();
  within_10s([&] {
    c.committer->request_messages_dir_sync();
    return 0;
  });
}

TEST(GroupCommitterDirectorySync, AFailedDirectorySyncIsReported) {
  // Reported, not taken as synced. (An fsync of the directory the committer holds open cannot be
  // made to fail here; once stopped, the committer opens messages/ itself, and it is gone.)
  Committer c;
  c.committer->stop();
  std::filesystem::remove_all(c.paths.messages_dir());
  EXPECT_TRUE(c.committer->sync_messages_dir());
}

}  // namespace
}  // namespace mailroom::queue
