#include "spool/queue_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t by value: no allocation per message
#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <new>

#include "spool/message_id.hpp"
#include "util/posix_file.hpp"

namespace mailroom::spool {
namespace {

// Percent-escapes everything that could break the line/field structure. An empty value is
// written as a lone "%" so that fields never collapse.
std::string escape(std::string_view v) {
  if (v.empty()) return "%";
  std::string out;
  out.reserve(v.size());
  for (unsigned char c : v) {
    if (c <= 0x20 || c == '%' || c == 0x7f) {
      out += fmt::format("%{:02X}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::optional<std::string> unescape(std::string_view v) {
  if (v == "%") return std::string();
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    if (i + 2 >= v.size()) return std::nullopt;
    unsigned value = 0;
    auto [p, ec] = std::from_chars(v.data() + i + 1, v.data() + i + 3, value, 16);
    if (ec != std::errc() || p != v.data() + i + 3) return std::nullopt;
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

std::vector<std::string_view> split_spaces(std::string_view line) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= line.size()) {
    auto sp = line.find(' ', start);
    if (sp == std::string_view::npos) sp = line.size();
    parts.push_back(line.substr(start, sp - start));
    start = sp + 1;
  }
  return parts;
}

template <typename Int>
bool parse_int(std::string_view s, Int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// A queue file shorter than its footer says is not a complete queue file.
std::error_code read_exact(int fd, char* buf, std::size_t n, std::uint64_t offset) {
  auto ec = util::pread_all(fd, buf, n, offset);
  if (ec == std::errc::no_message_available)
    return std::make_error_code(std::errc::illegal_byte_sequence);
  return ec;
}

std::error_code open_read(const std::string& path, util::UniqueFd& f) {
  f.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  return f.valid() ? std::error_code() : util::last_error();
}

}  // namespace

QueuePaths::QueuePaths(std::string queue_dir) : root(std::move(queue_dir)) {}
std::string QueuePaths::incoming_file(std::string_view id) const {
  return incoming_dir() + "/" + std::string(id);
}
std::string QueuePaths::message_file(std::string_view id) const {
  return messages_dir() + "/" + std::string(id);
}

QueueFileHasher::QueueFileHasher(QueueFileFormat format) : format_(format) {
  static_assert(sizeof(state_) >= sizeof(crypto_generichash_state));
  static_assert(sizeof(state_) >= sizeof(XXH3_state_t) && alignof(XXH3_state_t) <= 64);
  if (format_ == QueueFileFormat::V1)
    crypto_generichash_init(reinterpret_cast<crypto_generichash_state*>(state_), nullptr, 0, 16);
  else
    XXH3_128bits_reset(new (state_) XXH3_state_t);
}

void QueueFileHasher::update(std::string_view bytes) {
  if (format_ == QueueFileFormat::V1)
    crypto_generichash_update(reinterpret_cast<crypto_generichash_state*>(state_),
                              reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  else
    XXH3_128bits_update(reinterpret_cast<XXH3_state_t*>(state_), bytes.data(), bytes.size());
}

std::string QueueFileHasher::finish_hex() {
  unsigned char digest[16];
  if (format_ == QueueFileFormat::V1) {
    crypto_generichash_final(reinterpret_cast<crypto_generichash_state*>(state_), digest,
                             sizeof digest);
  } else {
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical,
                             XXH3_128bits_digest(reinterpret_cast<XXH3_state_t*>(state_)));
    static_assert(sizeof canonical.digest == sizeof digest);
    std::copy(std::begin(canonical.digest), std::end(canonical.digest), digest);
  }
  char hex[33];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string(hex, 32);
}

std::string encode_trailer(const Envelope& e, std::uint64_t body_bytes, QueueFileHasher& hasher) {
  std::string rec = "MAILROOM-ENVELOPE 1\n";
  auto field = [&](std::string_view key, std::string_view value) {
    rec.append(key);
    rec += ' ';
    rec += escape(value);
    rec += '\n';
  };
  field("id", e.id);
  field("sender", e.sender);
  field("ret", e.ret);
  field("envid", e.envid);
  field("body", e.body_type);
  field("smtputf8", e.smtputf8 ? "1" : "0");
  field("client_ip", e.client_ip);
  field("client_helo", e.client_helo);
  field("auth_user", e.auth_user);
  field("listener", e.listener);
  field("arrival", std::to_string(e.arrival_unix));
  for (const auto& r : e.recipients) {
    rec += fmt::format("rcpt {} {} {}\n", escape(r.address), escape(r.orcpt), r.notify);
  }
  rec += "end\n";
  hasher.update(rec);
  std::string footer = fmt::format("MAILROOM-QUEUE-V{} {:020d} {:010d} {}\n",
                                   hasher.format() == QueueFileFormat::V1 ? 1 : 2, body_bytes,
                                   rec.size(), hasher.finish_hex());
  return rec + footer;
}

std::optional<Envelope> decode_envelope(std::string_view record) {
  Envelope e;
  bool saw_header = false, saw_end = false;
  std::size_t pos = 0;
  while (pos < record.size()) {
    auto nl = record.find('\n', pos);
    if (nl == std::string_view::npos) return std::nullopt;
    std::string_view line = record.substr(pos, nl - pos);
    pos = nl + 1;
    if (!saw_header) {
      if (line != "MAILROOM-ENVELOPE 1") return std::nullopt;
      saw_header = true;
      continue;
    }
    if (line == "end") {
      saw_end = true;
      break;
    }
    auto parts = split_spaces(line);
    if (parts.empty()) return std::nullopt;
    auto key = parts[0];
    if (key == "rcpt") {
      if (parts.size() != 4) return std::nullopt;
      EnvelopeRecipient r;
      auto addr = unescape(parts[1]);
      auto orcpt = unescape(parts[2]);
      if (!addr || !orcpt || !parse_int(parts[3], r.notify)) return std::nullopt;
      r.address = std::move(*addr);
      r.orcpt = std::move(*orcpt);
      e.recipients.push_back(std::move(r));
      continue;
    }
    if (parts.size() != 2) return std::nullopt;
    auto value = unescape(parts[1]);
    if (!value) return std::nullopt;
    if (key == "id")
      e.id = *value;
    else if (key == "sender")
      e.sender = *value;
    else if (key == "ret")
      e.ret = *value;
    else if (key == "envid")
      e.envid = *value;
    else if (key == "body")
      e.body_type = *value;
    else if (key == "smtputf8")
      e.smtputf8 = (*value == "1");
    else if (key == "client_ip")
      e.client_ip = *value;
    else if (key == "client_helo")
      e.client_helo = *value;
    else if (key == "auth_user")
      e.auth_user = *value;
    else if (key == "listener")
      e.listener = *value;
    else if (key == "arrival") {
      if (!parse_int(std::string_view(*value), e.arrival_unix)) return std::nullopt;
    }
    // Unknown keys are skipped: a newer writer may add fields an older reader can ignore.
  }
  if (!saw_header || !saw_end) return std::nullopt;
  return e;
}

std::error_code read_queue_file_info(const std::string& path, QueueFileInfo& out) {
  util::UniqueFd f;
  if (auto ec = open_read(path, f)) return ec;
  struct stat st {};
  if (::fstat(f.get(), &st) != 0) return util::last_error();
  auto size = static_cast<std::uint64_t>(st.st_size);
  const auto bad = std::make_error_code(std::errc::illegal_byte_sequence);
  if (size < kFooterBytes) return bad;
  char footer[kFooterBytes];
  if (auto ec = read_exact(f.get(), footer, kFooterBytes, size - kFooterBytes)) return ec;
  std::string_view fv(footer, kFooterBytes);
  QueueFileFormat format;
  if (fv.substr(0, 18) == "MAILROOM-QUEUE-V2 ")
    format = QueueFileFormat::V2;
  else if (fv.substr(0, 18) == "MAILROOM-QUEUE-V1 ")
    format = QueueFileFormat::V1;
  else
    return bad;
  if (fv[38] != ' ' || fv[49] != ' ' || fv[82] != '\n') return bad;
  std::uint64_t body = 0, env = 0;
  if (!parse_int(fv.substr(18, 20), body) || !parse_int(fv.substr(39, 10), env)) return bad;
  // Each part within the file before they are added: a damaged footer naming nearly 2^64 body
  // octets made the sum wrap to the file's size, and the envelope buffer below then asked for
  // up to 10 GB (std::bad_alloc at start-up; found by fuzz/queue_envelope_fuzz.cpp).
  if (body > size || env > size - body || body + env + kFooterBytes != size) return bad;
  std::string record(env, '\0');
  if (auto ec = read_exact(f.get(), record.data(), env, body)) return ec;
  auto e = decode_envelope(record);
  if (!e) return bad;
  out.envelope = std::move(*e);
  out.format = format;
  out.checksum_hex = std::string(fv.substr(50, 32));
  out.body_bytes = body;
  out.file_bytes = size;
  return {};
}

std::error_code verify_queue_file(const std::string& path, const QueueFileInfo& info) {
  util::UniqueFd f;
  if (auto ec = open_read(path, f)) return ec;
  QueueFileHasher hasher(info.format);
  std::string chunk;
  std::uint64_t covered = info.file_bytes - kFooterBytes;
  for (std::uint64_t off = 0; off < covered;) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(65536, covered - off));
    chunk.resize(n);
    if (auto ec = read_exact(f.get(), chunk.data(), n, off)) return ec;
    hasher.update(chunk);
    off += n;
  }
  if (hasher.finish_hex() != info.checksum_hex)
    return std::make_error_code(std::errc::illegal_byte_sequence);
  return {};
}

std::error_code read_body(const std::string& path, std::uint64_t body_bytes, std::string& out,
                          std::uint64_t max_bytes) {
  util::UniqueFd f;
  if (auto ec = open_read(path, f)) return ec;
  auto n = static_cast<std::size_t>(std::min(body_bytes, max_bytes));
  out.resize(n);
  return read_exact(f.get(), out.data(), n, 0);
}

std::error_code read_headers(const std::string& path, std::uint64_t body_bytes, std::string& out) {
  util::UniqueFd f;
  if (auto ec = open_read(path, f)) return ec;
  out.clear();
  std::uint64_t off = 0;
  constexpr std::size_t kChunk = 16384;
  while (off < body_bytes) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, body_bytes - off));
    std::size_t old = out.size();
    out.resize(old + n);
    if (auto ec = read_exact(f.get(), out.data() + old, n, off)) return ec;
    off += n;
    auto search_from = old >= 3 ? old - 3 : 0;
    if (out.compare(0, 2, "\r\n") == 0) {
      out.clear();
      return {};
    }
    auto end = out.find("\r\n\r\n", search_from);
    if (end != std::string::npos) {
      out.resize(end + 2);
      return {};
    }
  }
  return {};
}

std::error_code ensure_queue_dirs(const QueuePaths& paths) {
  for (const auto& dir : {paths.incoming_dir(), paths.messages_dir(), paths.spare_dir()})
    if (auto ec = util::make_directories(dir)) return ec;
  return {};
}

std::vector<std::string> list_committed_ids(const QueuePaths& paths) {
  auto names = util::list_directory(paths.messages_dir());
  std::erase_if(names, [](const std::string& n) { return !is_valid_message_id(n); });
  std::sort(names.begin(), names.end());
  return names;
}

std::size_t remove_incoming_leftovers(const QueuePaths& paths) {
  std::size_t removed = 0;
  for (const auto& name : util::list_directory(paths.incoming_dir())) {
    if (::unlink((paths.incoming_dir() + "/" + name).c_str()) == 0) ++removed;
  }
  return removed;
}

void quarantine_queue_file(const QueuePaths& paths, std::string_view id) {
  (void)util::make_directories(paths.corrupt_dir());
  const auto from = paths.message_file(id);
  if (::rename(from.c_str(), (paths.corrupt_dir() + "/" + std::string(id)).c_str()) != 0) return;
  // A power cut after an earlier quarantine can bring the old name back beside the new one: two
  // links to one file, which rename(2) leaves as they are ("does nothing") while returning 0. The
  // file would stay in messages/, skipped by the server and listed by `mailroom queue list`.
  if (::access(from.c_str(), F_OK) == 0) (void)::unlink(from.c_str());
  // Both names durable: the file must neither come back into messages/ nor vanish after a cut.
  (void)util::fsync_directory(paths.corrupt_dir());
  (void)util::fsync_directory(paths.messages_dir());
}

}  // namespace mailroom::spool
