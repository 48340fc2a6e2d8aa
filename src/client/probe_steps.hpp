// client/probe_steps: the probe's steps, reconstructed from what the SMTP client wrote to its
// transcript (each command, each reply line, connection and TLS events, with the time they
// happened). The client itself knows protocol states, not "steps"; the transcript is the single
// record both the probe and `mailroom send` print from, so what is shown is what went over the
// wire. Pure apart from reading the clock when lines arrive.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "client/probe.hpp"
#include "net/smtp_client.hpp"

namespace mailroom::client {

class Transcript {
 public:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    Clock::time_point at;
    net::TranscriptLine::Direction direction;
    std::string text;
  };
  Transcript() : mark_time_(Clock::now()) {}
  void add(const net::TranscriptLine& line);
  // Later reconstructions start here (and time their first step from now).
  void mark();
  std::vector<Entry> since_mark() const;
  Clock::time_point mark_time() const { return mark_time_; }
  const std::vector<Entry>& all() const { return entries_; }

 private:
  std::vector<Entry> entries_;
  std::size_t mark_ = 0;
  Clock::time_point mark_time_;
};

// The step a client command line stands for (EHLO and LHLO are Ehlo; DATA, BDAT and the final
// "." are Data); nullopt for message lines and AUTH responses.
std::optional<Step> step_of_command(const std::string& line);

// The steps since the transcript's mark. `failure` is the client's, if its session failed.
std::vector<ProbeStep> steps_from_transcript(const Transcript& transcript,
                                             const std::optional<smtp::SessionFailed>& failure);

// Appends steps to a host's probe and records the first failed step.
void append_steps(HostProbe& probe, std::vector<ProbeStep> steps);

// Signs of an SMTP-inspecting firewall in the greeting and EHLO reply of the whole transcript.
std::optional<std::string> inspection_signs(const Transcript& transcript);

}  // namespace mailroom::client
