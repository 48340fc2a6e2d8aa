// read_secret_from on a real pseudo-terminal: a secret typed before (or the instant) the prompt
// shows is read, not discarded by the switch to no-echo mode.
#include "client/terminal.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>

namespace mailroom::client {
namespace {

struct Pty {
  int master = -1, slave = -1;
  Pty() {
    master = ::posix_openpt(O_RDWR | O_NOCTTY);
    EXPECT_GE(master, 0);
    EXPECT_EQ(::grantpt(master), 0);
    EXPECT_EQ(::unlockpt(master), 0);
    slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
    EXPECT_GE(slave, 0);
  }
  ~Pty() {
    ::close(slave);
    ::close(master);
  }
  void type(const std::string& text) {
    ASSERT_EQ(::write(master, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
};

TEST(ReadSecret, ASecretTypedAheadIsReadNotDiscarded) {
  Pty pty;
  pty.type("kate-secret\r");
  auto secret =
      std::async(std::launch::async, [&] { return read_secret_from(pty.slave, "Password: "); });
  if (secret.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    ADD_FAILURE() << "the typed-ahead line was thrown away: still waiting for a secret";
    pty.type("\r");  // let the reader return so the test can end
  }
  auto got = secret.get();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, "kate-secret");
}

TEST(ReadSecret, WhatIsTypedAfterTheSecretIsKeptForTheNextRead) {
  Pty pty;
  pty.type("first\rNOOP\r");
  auto got = read_secret_from(pty.slave, "Password: ");
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, "first");
  char buf[16] = {};
  // ICRNL turns the typed \r into \n; the line after the secret is still there to be read.
  ASSERT_EQ(::read(pty.slave, buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf, 5), "NOOP\n");
}

}  // namespace
}  // namespace mailroom::client
