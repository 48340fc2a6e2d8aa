#include "server/client_ledger.hpp"

#include <gtest/gtest.h>

#include <string>

using mailroom::server::WindowCounter;
using std::chrono::seconds;

namespace {
const auto t0 = WindowCounter::Clock::time_point{} + seconds(1000);
}

TEST(WindowCounter, CountsPerKeyWithinTheWindow) {
  WindowCounter w(seconds(60));
  EXPECT_EQ(w.record("192.0.2.1", t0), 1u);
  EXPECT_EQ(w.record("192.0.2.1", t0 + seconds(10)), 2u);
  EXPECT_EQ(w.record("192.0.2.2", t0 + seconds(10)), 1u);
  EXPECT_EQ(w.count("192.0.2.1", t0 + seconds(59)), 2u);
  EXPECT_EQ(w.count("192.0.2.3", t0), 0u);
}

TEST(WindowCounter, WindowIsFixedFromTheFirstEvent) {
  // As anvil(8): more events do not extend the window, so a hammering client gets back in.
  WindowCounter w(seconds(60));
  for (int i = 0; i < 59; ++i) w.record("a", t0 + seconds(i));
  EXPECT_EQ(w.count("a", t0 + seconds(59)), 59u);
  EXPECT_EQ(w.count("a", t0 + seconds(60)), 0u);
  EXPECT_EQ(w.record("a", t0 + seconds(60)), 1u);
  EXPECT_EQ(w.count("a", t0 + seconds(119)), 1u);
}

TEST(WindowCounter, ExpiredEntriesArePruned) {
  WindowCounter w(seconds(10));
  for (int i = 0; i < 1000; ++i) w.record("10.0.0." + std::to_string(i), t0);
  EXPECT_EQ(w.size(), 1000u);
  w.record("late", t0 + seconds(10));
  EXPECT_EQ(w.size(), 1u);
}

TEST(WindowCounter, MemoryIsBoundedByEvictingTheOldest) {
  WindowCounter w(seconds(3600), 100);
  for (int i = 0; i < 10000; ++i) w.record("k" + std::to_string(i), t0 + seconds(i / 100));
  EXPECT_LE(w.size(), 100u);
  EXPECT_EQ(w.count("k9999", t0 + seconds(100)), 1u);  // the newest are kept
  EXPECT_EQ(w.count("k0", t0 + seconds(100)), 0u);     // the oldest were forgotten
}

TEST(WindowCounter, RenewedWindowsLeaveNoStaleBookkeeping) {
  WindowCounter w(seconds(5), 3);
  for (int round = 0; round < 100; ++round) {
    for (const char* k : {"a", "b", "c"}) w.record(k, t0 + seconds(round * 5));
  }
  EXPECT_EQ(w.size(), 3u);
  EXPECT_EQ(w.count("a", t0 + seconds(99 * 5)), 1u);
}
