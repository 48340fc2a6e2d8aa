#include "server/service_notify.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <atomic>
#include <ctime>
#include <string>

namespace mailroom::server {
namespace {

void send(const std::string& state) {
  // unset_environment = 0: a reload later in the process's life notifies through the same socket.
  int rc = ::sd_notify(0, state.c_str());
  if (rc < 0) {
    static std::atomic<bool> said{false};
    if (!said.exchange(true)) spdlog::debug("event=sd_notify_failed error={}", -rc);
  }
}

// A status is one line: a newline would start a new KEY=VALUE assignment in the datagram.
std::string one_line(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

}  // namespace

void notify_ready() { send("READY=1"); }

void notify_reloading() {
  // systemd 253's Type=notify-reload needs the CLOCK_MONOTONIC time of the reload; older
  // managers ignore the field.
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
              static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void notify_stopping() { send("STOPPING=1"); }

void notify_status(std::string_view text) { send("STATUS=" + one_line(text)); }

}  // namespace mailroom::server
