// Message transfer: DATA (RFC 5321 4.1.1.4) and BDAT (RFC 3030), and the commit to the queue.
//
// Only <CRLF>.<CRLF> ends DATA. A message containing a bare CR or LF is refused whole with
// 550 5.5.2 (after its real end-of-data), never normalised and passed on: this is the strict
// reading of Postfix's smtpd_forbid_bare_newline fix for SMTP smuggling (CVE-2023-51764), and it
// means no message we accept can be re-split by a laxer server downstream. BDAT chunks are
// always consumed in full, whatever the reply, so chunk bytes are never taken for commands; a
// BDAT whose chunk size cannot be read is answered 421 and the connection closed.
#include <spdlog/spdlog.h>

#include "journal/protocol_log.hpp"
#include "journal/tracking_event.hpp"
#include "server/async_bridge.hpp"
#include "server/session.hpp"
#include "smtp/bdat.hpp"
#include "smtp/data_reader.hpp"
#include "spool/message_id.hpp"
#include "util/rfc5322_date.hpp"

namespace mailroom::server {

using std::chrono::seconds;

namespace {

const char* body_type_name(smtp::BodyType t) {
  switch (t) {
    case smtp::BodyType::EightBitMime:
      return "8BITMIME";
    case smtp::BodyType::BinaryMime:
      return "BINARYMIME";
    case smtp::BodyType::SevenBit:
      return "7BIT";
    case smtp::BodyType::Unspecified:
      return "7BIT";
  }
  return "7BIT";
}

}  // namespace

// Slow-drip defence (limits.min_data_rate_bytes_per_s): a client that keeps a DATA phase or a
// BDAT chunk alive with a trickle of bytes, never idle long enough for data_timeout_s. Judged
// only after 10 s, so a short stall at the start is no reason to cut a message.
bool Session::data_rate_too_low(Clock::time_point started, std::uint64_t bytes) const {
  const auto rate = rt_.cfg.limits.min_data_rate_bytes_per_s;
  if (rate == 0) return false;
  const auto elapsed = std::chrono::duration_cast<seconds>(Clock::now() - started).count();
  return elapsed >= 10 && bytes < static_cast<std::uint64_t>(elapsed) * rate;
}

std::string Session::received_header(const std::string& message_id) const {
  // RFC 5321 4.4 trace field; "with" per RFC 3848 (ESMTP, ESMTPS, ESMTPA, ESMTPSA, UTF8SMTP...).
  std::string with = tx_.mail.smtputf8 ? "UTF8SMTP" : (state_.esmtp() ? "ESMTP" : "SMTP");
  if (transport_.tls_active()) with += "S";
  if (!auth_user_.empty()) with += "A";
  if (with == "SMTPS" || with == "SMTPA" || with == "SMTPSA") with = "E" + with;
  // TCP-info is an address literal (RFC 5321 4.4, 4.1.3): "[IPv6:::1]", without a zone index.
  const bool v6 = client_ip_.find(':') != std::string::npos;
  const std::string literal =
      v6 ? "IPv6:" + client_ip_.substr(0, client_ip_.find('%')) : client_ip_;
  std::string h = fmt::format("Received: from {} ([{}])\r\n\tby {} (mailroom) with {} id {}",
                              smtp::sanitize_text(helo_, 255), literal, rt_.cfg.server.hostname,
                              with, message_id);
  if (transport_.tls_active()) h += fmt::format("\r\n\t(using {})", transport_.tls_description());
  // Naming the recipient is only safe when there is one (RFC 5321 7.6: no BCC disclosure).
  if (tx_.recipients.size() == 1)
    h += fmt::format("\r\n\tfor <{}>", smtp::sanitize_text(tx_.recipients.front().address, 512));
  h += fmt::format("; {}\r\n", util::rfc5322_now());
  return h;
}

std::unique_ptr<queue::IncomingMessage> Session::begin_message(std::error_code& ec) {
  queue::Envelope env;
  env.id = rt_.queue.new_message_id();
  env.sender = tx_.mail.sender.is_null ? "" : tx_.mail.sender.str();
  env.recipients = tx_.recipients;
  env.ret = tx_.mail.ret;
  env.envid = tx_.mail.envid;
  env.body_type = body_type_name(tx_.mail.body);
  env.smtputf8 = tx_.mail.smtputf8;
  env.client_ip = client_ip_;
  env.client_helo = smtp::sanitize_text(helo_, 255);
  env.auth_user = auth_user_;
  env.listener = rt_.listener.name;
  env.arrival_unix = std::time(nullptr);
  auto header = received_header(env.id);
  if (!auth_user_.empty())
    tx_.submission_fixups = std::make_unique<smtp::MissingHeaderFields>(
        util::rfc5322_now(), spool::message_id_header_value(env.id, rt_.cfg.server.hostname));
  auto msg = rt_.queue.begin(std::move(env));
  ec = msg->append(header);
  return msg;
}

std::error_code Session::append_body(queue::IncomingMessage& msg, std::string_view bytes) {
  tx_.message_id.feed(bytes);
  if (!tx_.submission_fixups) return msg.append(bytes);
  std::string out;
  tx_.submission_fixups->feed(bytes, out);
  return out.empty() ? std::error_code() : msg.append(out);
}

std::error_code Session::finish_body(queue::IncomingMessage& msg) {
  if (!tx_.submission_fixups) return {};
  std::string out;
  tx_.submission_fixups->finish(out);
  return out.empty() ? std::error_code() : msg.append(out);
}

asio::awaitable<void> Session::commit_message(std::unique_ptr<queue::IncomingMessage> msg) {
  const auto id = msg->envelope.id;
  const auto size = msg->size();
  const auto rcpts = msg->envelope.recipients.size();
  const auto sender = msg->envelope.sender;
  journal::TrackingEvent received;
  received.event = "RECEIVE";
  received.id = id;
  received.client = client_ip_;
  received.listener = rt_.listener.name;
  received.auth_user = auth_user_;
  received.size = size;
  received.sender = sender;
  for (const auto& r : msg->envelope.recipients) received.recipients.push_back(r.address);
  received.message_id = tx_.message_id.value();
  if (tx_.submission_fixups && tx_.submission_fixups->added_message_id())
    received.message_id = spool::message_id_header_value(id, rt_.cfg.server.hostname);
  // Stamped before the commit: once it is durable the queue may deliver (and log that) before
  // this coroutine resumes, and RECEIVE must not sort after the DELIVER it made possible.
  received.unix_ms = journal::unix_ms_now();
  const auto commit_started = Clock::now();
  auto [ec] = co_await async_commit(transport_.socket().get_executor(), rt_.queue, std::move(msg));
  rt_.metrics->commit_seconds.observe(
      std::chrono::duration<double>(Clock::now() - commit_started).count());
  if (ec) {
    spdlog::error("session={} client={} msgid={} event=commit_failed error=\"{}\"", id_, client_ip_,
                  id, ec.message());
    // Any storage failure (ENOSPC, EDQUOT, EFBIG, EIO...) is "452 4.3.1": the client should try
    // again later and the message was not taken. Only a commit cancelled because the server is
    // stopping is a plain local error.
    reply(ec == std::errc::operation_canceled ? smtp::replies::local_error()
                                              : smtp::replies::insufficient_storage());
    co_return;
  }
  messages_++;
  journal::record(std::move(received));
  rt_.metrics->messages_accepted.inc();
  rt_.metrics->message_bytes.inc(size);
  spdlog::info("session={} client={} msgid={} event=queued from=<{}> nrcpt={} size={}", id_,
               client_ip_, id, smtp::sanitize_text(sender), rcpts, size);
  reply(smtp::replies::queued(fmt::format("{}@{}", id, rt_.cfg.server.hostname)));
}

asio::awaitable<void> Session::on_data(const smtp::Command& cmd) {
  if (!cmd.args.empty()) co_return reply(smtp::replies::invalid_arguments());
  if (tx_.mail.body == smtp::BodyType::BinaryMime)
    co_return reply(smtp::replies::bad_binary_with_data());

  co_await reply_now(smtp::replies::start_mail_input());
  if (closing_) co_return;
  const auto& limits = rt_.cfg.limits;
  smtp::DataReader reader({rt_.listener.max_message_size, limits.max_text_line_bytes});
  std::error_code store_ec;
  auto msg = begin_message(store_ec);
  std::string content;
  auto consume = [&](std::string_view in) {
    content.clear();
    std::size_t used = reader.feed(in, content);
    if (!store_ec && !content.empty() && !reader.too_big()) store_ec = append_body(*msg, content);
    if (reader.done()) lines_.append(in.substr(used));  // pipelined commands after the dot
  };
  consume(lines_.take_buffered());
  const auto started = Clock::now();
  while (!reader.done()) {
    set_deadline(seconds(limits.data_timeout_s), "data_timeout_s");
    reading_ = true;
    auto [ec, data] = co_await transport_.read_available();
    reading_ = false;
    if (ec || data.empty()) {
      trace_.received_octets("message, ", reader.size());
      spdlog::info("session={} client={} event=data_aborted bytes={}", id_, client_ip_,
                   reader.size());
      close("connection lost during DATA");
      co_return;
    }
    consume(data);
    if (!reader.done() && data_rate_too_low(started, reader.size())) {
      spdlog::info("session={} client={} event=timeout limit=min_data_rate_bytes_per_s bytes={}",
                   id_, client_ip_, reader.size());
      co_await reply_now(smtp::replies::timeout(rt_.cfg.server.hostname));
      close("data rate too low");
      co_return;
    }
  }
  trace_.received_octets("message, ", reader.size());  // content is never logged
  if (reader.bare_newline()) {
    rt_.metrics->rejected("bare_newline");
    reply(smtp::replies::bare_newline());
  } else if (reader.too_big()) {
    rt_.metrics->rejected("too_big");
    reply(smtp::replies::message_too_big());
  } else if (reader.line_too_long()) {
    rt_.metrics->rejected("line_too_long");
    reply(smtp::replies::data_line_too_long());
  } else if (store_ec || (store_ec = finish_body(*msg))) {
    rt_.metrics->rejected("storage");
    spdlog::error("session={} event=spool_failed error=\"{}\"", id_, store_ec.message());
    reply(smtp::replies::insufficient_storage());
  } else {
    co_await commit_message(std::move(msg));
  }
  reset_transaction();
}

// Reads the next `n` bytes of a BDAT chunk, those already buffered first, and hands them to
// `sink`; whatever follows the chunk stays buffered (pipelined commands). With `enforce_rate`, a
// client sending slower than limits.min_data_rate is stopped (TooSlow); a closed connection is
// Lost, and the session is closed.
asio::awaitable<Session::ChunkRead> Session::read_chunk(std::uint64_t n, const ChunkSink& sink,
                                                        bool enforce_rate) {
  const auto started = Clock::now();
  const std::uint64_t total = n;
  {
    std::string buffered = lines_.take_buffered();
    auto take = std::min<std::uint64_t>(n, buffered.size());
    sink(std::string_view(buffered).substr(0, take));
    lines_.append(std::string_view(buffered).substr(take));
    n -= take;
  }
  while (n > 0) {
    set_deadline(seconds(rt_.cfg.limits.data_timeout_s), "data_timeout_s");
    reading_ = true;
    auto [ec, data] = co_await transport_.read_available();
    reading_ = false;
    if (ec || data.empty()) {
      close("connection lost during BDAT");
      co_return ChunkRead::Lost;
    }
    auto used = std::min<std::uint64_t>(n, data.size());
    sink(data.substr(0, used));
    n -= used;
    if (n == 0) lines_.append(data.substr(used));
    if (n > 0 && enforce_rate && data_rate_too_low(started, total - n))
      co_return ChunkRead::TooSlow;
  }
  trace_.received_octets("", total);  // chunk content is never logged
  co_return ChunkRead::Done;
}

asio::awaitable<void> Session::on_bdat(const smtp::Command& cmd) {
  auto parsed = smtp::parse_bdat_args(cmd.args);
  if (!parsed.ok()) {
    if (auto size = smtp::announced_chunk_size(cmd.args)) {
      // "BDAT 5 LAST EXTRA": the size is known, so the chunk is skipped and the session goes
      // on. A message already begun cannot be completed without that chunk (RFC 3030 2: the
      // transaction has failed).
      const ChunkSink discard = [](std::string_view) {};
      if (co_await read_chunk(*size, discard, false) != ChunkRead::Done) co_return;
      reply(parsed.error);
      if (state_.phase() == smtp::SessionPhase::Bdat) reset_transaction();
      co_return;
    }
    // Without a valid size we cannot tell chunk bytes from commands: stop rather than guess.
    co_await reply_now(smtp::replies::bdat_syntax_closing());
    close("bad BDAT chunk size");
    co_return;
  }
  const auto [size, last] = *parsed.value;
  if (auto refusal = state_.check(smtp::Verb::Bdat)) {
    const ChunkSink discard = [](std::string_view) {};
    auto read = co_await read_chunk(size, discard, false);
    if (read == ChunkRead::Done) reply(*refusal);
    co_return;
  }
  std::error_code store_ec;
  if (state_.phase() != smtp::SessionPhase::Bdat) {
    tx_.bdat_message = begin_message(store_ec);
    tx_.bdat_body =
        smtp::BdatBody(rt_.listener.max_message_size, tx_.mail.body == smtp::BodyType::BinaryMime);
  }
  auto& msg = tx_.bdat_message;
  const ChunkSink accept = [&](std::string_view part) {
    if (tx_.bdat_body.add(part) && !store_ec) store_ec = append_body(*msg, part);
  };
  auto read = co_await read_chunk(size, accept, true);
  if (read == ChunkRead::Lost) co_return;
  if (read == ChunkRead::TooSlow) {
    spdlog::info("session={} client={} event=timeout limit=min_data_rate_bytes_per_s", id_,
                 client_ip_);
    co_await reply_now(smtp::replies::timeout(rt_.cfg.server.hostname));
    close("data rate too low");
    co_return;
  }
  const bool too_big = tx_.bdat_body.too_big();
  if (too_big || store_ec) {
    reply(too_big ? smtp::replies::message_too_big() : smtp::replies::insufficient_storage());
    reset_transaction();
    co_return;
  }
  if (!last) {
    log_state(state_.bdat_chunk());
    co_return reply(smtp::replies::bdat_received(size));
  }
  tx_.bdat_body.finish();
  if (tx_.bdat_body.bare_newline()) {
    reply(smtp::replies::bare_newline());
  } else if (auto ec = finish_body(*msg)) {
    reply(smtp::replies::insufficient_storage());
  } else {
    co_await commit_message(std::move(msg));
  }
  reset_transaction();
}

}  // namespace mailroom::server
