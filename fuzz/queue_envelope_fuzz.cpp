// The queue file, as every restart reads it (queue/runtime.cpp recover(): read_queue_file_info on
// each file of messages/, then verify_queue_file before delivery). The first input byte picks:
//   0: arbitrary bytes as an envelope record. decode_envelope must not crash; a record it accepts
//      must encode and decode back to the same envelope (what a restart reads is what it writes);
//   1: arbitrary bytes as a whole queue file (a torn, truncated or damaged file after a crash).
//      read_queue_file_info must not crash, allocate beyond the file, or accept a file whose
//      parts do not add up to its size; verify_queue_file must not crash on what it accepted;
//   2: an arbitrary envelope and body, written as the group committer writes them (body, then
//      encode_trailer): read_queue_file_info must give back exactly that envelope and body size,
//      and the checksum must verify; decode_envelope of the record alone gives it back too.
// Files live in one memfd, named through /proc/self/fd, so no input touches the disk.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "spool/queue_file.hpp"

using namespace mailroom::spool;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool same_recipient(const EnvelopeRecipient& a, const EnvelopeRecipient& b) {
  return a.address == b.address && a.orcpt == b.orcpt && a.notify == b.notify;
}

bool same(const Envelope& a, const Envelope& b) {
  if (a.recipients.size() != b.recipients.size()) return false;
  for (std::size_t i = 0; i < a.recipients.size(); ++i)
    if (!same_recipient(a.recipients[i], b.recipients[i])) return false;
  return a.id == b.id && a.sender == b.sender && a.ret == b.ret && a.envid == b.envid &&
         a.body_type == b.body_type && a.smtputf8 == b.smtputf8 && a.client_ip == b.client_ip &&
         a.client_helo == b.client_helo && a.auth_user == b.auth_user && a.listener == b.listener &&
         a.arrival_unix == b.arrival_unix;
}

// The record part of encode_trailer's output (everything before the footer).
std::string record_of(const std::string& trailer) {
  check(trailer.size() > kFooterBytes);
  return trailer.substr(0, trailer.size() - kFooterBytes);
}

struct MemFile {
  MemFile() : fd(::memfd_create("queue_envelope_fuzz", 0)) {
    check(fd >= 0);
    path = "/proc/self/fd/" + std::to_string(fd);
  }
  void write(const std::string& bytes) const {
    check(::ftruncate(fd, 0) == 0);
    std::size_t done = 0;
    while (done < bytes.size()) {
      auto n = ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
      check(n > 0);
      done += static_cast<std::size_t>(n);
    }
  }
  int fd;
  std::string path;
};

const MemFile& file() {
  static const MemFile f;
  return f;
}

void decode_arbitrary_record(const std::string& bytes) {
  auto e = decode_envelope(bytes);
  if (!e) return;
  QueueFileHasher hasher;
  auto again = decode_envelope(record_of(encode_trailer(*e, 0, hasher)));
  check(again.has_value() && same(*e, *again));
}

void read_arbitrary_file(const std::string& bytes) {
  file().write(bytes);
  QueueFileInfo info;
  if (read_queue_file_info(file().path, info)) return;
  check(info.file_bytes == bytes.size());
  check(info.body_bytes <= info.file_bytes - kFooterBytes);
  (void)verify_queue_file(file().path, info);
}

std::string any_string(FuzzedDataProvider& in) { return in.ConsumeRandomLengthString(64); }

void round_trip(FuzzedDataProvider& in) {
  Envelope e;
  e.id = any_string(in);
  e.sender = any_string(in);
  e.ret = any_string(in);
  e.envid = any_string(in);
  e.body_type = any_string(in);
  e.smtputf8 = in.ConsumeBool();
  e.client_ip = any_string(in);
  e.client_helo = any_string(in);
  e.auth_user = any_string(in);
  e.listener = any_string(in);
  e.arrival_unix = in.ConsumeIntegral<std::int64_t>();
  const auto n = in.ConsumeIntegralInRange<std::size_t>(0, 8);
  for (std::size_t i = 0; i < n; ++i) {
    EnvelopeRecipient r;
    r.address = any_string(in);
    r.orcpt = any_string(in);
    r.notify = in.ConsumeIntegral<unsigned>();
    e.recipients.push_back(std::move(r));
  }
  const std::string body = in.ConsumeRemainingBytesAsString();

  QueueFileHasher hasher;
  hasher.update(body);
  const std::string trailer = encode_trailer(e, body.size(), hasher);
  auto decoded = decode_envelope(record_of(trailer));
  check(decoded.has_value() && same(e, *decoded));

  file().write(body + trailer);
  QueueFileInfo info;
  check(!read_queue_file_info(file().path, info));
  check(same(e, info.envelope));
  check(info.body_bytes == body.size());
  check(info.file_bytes == body.size() + trailer.size());
  check(info.format == kCurrentQueueFileFormat);
  check(!verify_queue_file(file().path, info));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      decode_arbitrary_record(rest);
      break;
    case 1:
      read_arbitrary_file(rest);
      break;
    default: {
      FuzzedDataProvider in(data + 1, size - 1);
      round_trip(in);
      break;
    }
  }
  return 0;
}
