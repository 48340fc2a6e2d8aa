#include "client/terminal.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

namespace mailroom::client {
namespace {

std::optional<std::string> read_line(int fd) {
  std::string line;
  char c = 0;
  for (;;) {
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (line.empty()) return std::nullopt;
      break;
    }
    if (c == '\n') break;
    line += c;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

std::optional<std::string> read_secret_from(int fd, const std::string& prompt) {
  const bool tty = ::isatty(fd) == 1;
  termios saved{};
  const bool quieted = tty && ::tcgetattr(fd, &saved) == 0;
  if (quieted) {
    // Echo goes off before the prompt shows, and without TCSAFLUSH: a secret typed the moment
    // the prompt appears is neither echoed nor thrown away (which left the reader waiting for a
    // line already typed).
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    ::tcsetattr(fd, TCSANOW, &quiet);
  }
  if (tty) (void)!::write(fd, prompt.data(), prompt.size());
  auto line = read_line(fd);
  if (quieted) ::tcsetattr(fd, TCSANOW, &saved);  // what is typed after the secret is kept too
  return line;
}

std::optional<std::string> read_secret(const std::string& prompt) {
  const int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return std::nullopt;
  auto secret = read_secret_from(fd, prompt);
  ::close(fd);
  return secret;
}

}  // namespace mailroom::client
