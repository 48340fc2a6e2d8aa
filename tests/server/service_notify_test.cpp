#include "server/service_notify.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>

namespace {

// The service manager's end of $NOTIFY_SOCKET: a unix datagram socket in a fresh directory.
class NotifySocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mailroom-notify-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/notify.sock";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    timeval tv{2, 0};  // a missing datagram fails the test instead of hanging it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("NOTIFY_SOCKET");
    if (fd_ >= 0) ::close(fd_);
    std::filesystem::remove_all(dir_);
  }
  // The next datagram, or "" when none comes.
  std::string receive(int flags = 0) {
    char buf[4096];
    auto n = ::recv(fd_, buf, sizeof(buf), flags);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }

  std::string dir_, path_;
  int fd_ = -1;
};

TEST_F(NotifySocketTest, SendsEachStateAsOneDatagram) {
  mailroom::server::notify_ready();
  EXPECT_EQ(receive(), "READY=1");
  mailroom::server::notify_stopping();
  EXPECT_EQ(receive(), "STOPPING=1");
  mailroom::server::notify_status("accepting mail on 2 listener(s)");
  EXPECT_EQ(receive(), "STATUS=accepting mail on 2 listener(s)");
}

TEST_F(NotifySocketTest, AStatusStaysOneAssignment) {
  // A newline would make "READY=1" a second assignment of its own.
  mailroom::server::notify_status("failed: bad\nREADY=1\r");
  EXPECT_EQ(receive(), "STATUS=failed: bad READY=1 ");
}

TEST_F(NotifySocketTest, ReloadingCarriesTheMonotonicTime) {
  timespec before{};
  ::clock_gettime(CLOCK_MONOTONIC, &before);
  mailroom::server::notify_reloading();
  timespec after{};
  ::clock_gettime(CLOCK_MONOTONIC, &after);
  auto got = receive();
  const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
  ASSERT_EQ(got.rfind(prefix, 0), 0u) << got;
  auto usec = std::stoull(got.substr(prefix.size()));
  auto to_usec = [](timespec t) {
    return static_cast<unsigned long long>(t.tv_sec) * 1000000ULL +
           static_cast<unsigned long long>(t.tv_nsec) / 1000ULL;
  };
  EXPECT_GE(usec, to_usec(before));
  EXPECT_LE(usec, to_usec(after));
  // The variable stays set: a later reload notifies too.
  EXPECT_NE(::getenv("NOTIFY_SOCKET"), nullptr);
}

TEST_F(NotifySocketTest, NothingWithoutNotifySocket) {
  ::unsetenv("NOTIFY_SOCKET");
  mailroom::server::notify_ready();
  mailroom::server::notify_status("x");
  EXPECT_EQ(receive(MSG_DONTWAIT), "");
}

TEST_F(NotifySocketTest, ASocketNobodyReadsIsNoError) {
  ::setenv("NOTIFY_SOCKET", (dir_ + "/nobody.sock").c_str(), 1);
  mailroom::server::notify_ready();  // must neither throw nor block
  EXPECT_EQ(receive(MSG_DONTWAIT), "");
}

}  // namespace
