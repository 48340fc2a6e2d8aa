#include "smtp/mail_args.hpp"

#include <fmt/format.h>

#include "smtp/bdat.hpp"
#include "util/ascii.hpp"

namespace mailroom::smtp {

namespace {

enum class Role { Sender, Recipient };

// RFC 5321 4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
bool is_esmtp_keyword(std::string_view k) {
  if (k.empty() || !util::is_ascii_alnum(k.front())) return false;
  for (char c : k) {
    if (!util::is_ascii_alnum(c) && c != '-') return false;
  }
  return true;
}

// RFC 5321 4.1.2: esmtp-value = 1*(%d33-60 / %d62-126)
bool is_esmtp_value(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u < 33 || u > 126 || c == '=') return false;
  }
  return true;
}

// Decoded DSN/AUTH values are copied into queue files and DSN headers: printable ASCII only.
bool is_printable_ascii(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 32 || u > 126) return false;
  }
  return true;
}

Reply bad_syntax(Role role) {
  return role == Role::Sender ? replies::invalid_address() : replies::invalid_recipient_syntax();
}

Reply bad_value(std::string_view keyword) {
  return make_reply(501, "5.5.4",
                    fmt::format("Invalid {} parameter value", util::to_ascii_upper(keyword)));
}

Reply duplicate(std::string_view keyword) {
  return make_reply(501, "5.5.4",
                    fmt::format("Duplicate {} parameter", util::to_ascii_upper(keyword)));
}

// Finds where the path ends: after the '>' of "<...>", or at the first SP of an unbracketed
// path, skipping over quoted strings (a quoted local part may hold '>' or SP). npos if a '<'
// is never closed or a quote never ends.
std::size_t path_end(std::string_view s) {
  bool bracketed = !s.empty() && s.front() == '<';
  bool in_quote = false;
  for (std::size_t i = bracketed ? 1 : 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_quote) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_quote = false;
      }
    } else if (c == '"') {
      in_quote = true;
    } else if (bracketed && c == '>') {
      return i + 1;
    } else if (!bracketed && c == ' ') {
      return i;
    }
  }
  if (bracketed || in_quote) return std::string_view::npos;
  return s.size();
}

// A-d-l = At-domain *( "," At-domain ), At-domain = "@" Domain. Only validated, then dropped
// (RFC 5321 4.1.2 and appendix C: relays MUST ignore source routes).
bool is_source_route(std::string_view adl) {
  while (true) {
    std::size_t comma = adl.find(',');
    std::string_view at_domain = adl.substr(0, comma);
    if (at_domain.size() < 2 || at_domain.front() != '@') return false;
    if (!is_valid_domain(at_domain.substr(1), true)) return false;
    if (comma == std::string_view::npos) return true;
    adl.remove_prefix(comma + 1);
  }
}

// Parses the path token (bracketed or not) into an Address.
ParseResult<Address> parse_path(std::string_view path, Role role) {
  bool bracketed = path.front() == '<';
  if (path.size() + (bracketed ? 0 : 2) > kMaxPathBytes) {
    return ParseResult<Address>::failure(bad_syntax(role));
  }
  std::string_view inner = bracketed ? path.substr(1, path.size() - 2) : path;
  if (inner.empty()) {
    if (!bracketed || role == Role::Recipient)
      return ParseResult<Address>::failure(bad_syntax(role));
    Address null_path;
    null_path.is_null = true;
    return ParseResult<Address>::success(std::move(null_path));
  }
  if (bracketed && inner.front() == '@') {
    std::size_t colon = inner.find(':');
    if (colon == std::string_view::npos || !is_source_route(inner.substr(0, colon))) {
      return ParseResult<Address>::failure(bad_syntax(role));
    }
    inner.remove_prefix(colon + 1);
  }
  // RFC 5321 4.1.1.3: "<Postmaster>" with no domain names the local postmaster.
  if (role == Role::Recipient && util::iequals(inner, "postmaster")) {
    Address postmaster;
    postmaster.local_part = std::string(inner);
    return ParseResult<Address>::success(std::move(postmaster));
  }
  ParsedAddress parsed = parse_mailbox(inner);
  if (!parsed.ok()) return ParseResult<Address>::failure(bad_syntax(role));
  return ParseResult<Address>::success(std::move(parsed.address));
}

struct Param {
  std::string_view keyword;
  std::optional<std::string_view> value;
};

// Splits the parameter text after the path into keyword[=value] tokens. Syntax errors are
// reported as the reply to send.
template <typename Handler>
std::optional<Reply> for_each_param(std::string_view rest, Handler&& handle) {
  while (true) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty()) return std::nullopt;
    std::size_t sp = rest.find(' ');
    std::string_view token = rest.substr(0, sp);
    rest.remove_prefix(sp == std::string_view::npos ? rest.size() : sp);
    Param p;
    std::size_t eq = token.find('=');
    p.keyword = token.substr(0, eq);
    if (!is_esmtp_keyword(p.keyword)) return replies::unrecognized_parameter();
    if (eq != std::string_view::npos) {
      p.value = token.substr(eq + 1);
      if (!is_esmtp_value(*p.value)) return bad_value(p.keyword);
    }
    if (auto error = handle(p)) return error;
  }
}

std::optional<std::string> decoded_xtext(std::string_view value, std::size_t max_bytes) {
  if (value.size() > max_bytes) return std::nullopt;
  auto decoded = xtext_decode(value);
  if (!decoded || !is_printable_ascii(*decoded)) return std::nullopt;
  return decoded;
}

// Strips the "FROM:" / "TO:" prefix and the blanks some clients put after it; nullopt if the
// prefix is missing.
std::optional<std::string_view> after_prefix(std::string_view args, std::string_view prefix) {
  if (args.size() < prefix.size() || !util::iequals(args.substr(0, prefix.size()), prefix)) {
    return std::nullopt;
  }
  args.remove_prefix(prefix.size());
  while (!args.empty() && args.front() == ' ') args.remove_prefix(1);
  return args;
}

struct Split {
  std::string_view path, params;
};

// Separates path from parameters; nullopt means the path itself is malformed.
std::optional<Split> split_path(std::string_view s) {
  std::size_t end = path_end(s);
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view rest = s.substr(end);
  if (!rest.empty() && rest.front() != ' ') return std::nullopt;  // "<a@b>junk"
  return Split{s.substr(0, end), rest};
}

Reply handle_mail_param(const Param& p, MailArgs& m, unsigned& seen) {
  auto once = [&](unsigned bit) {
    bool first = (seen & bit) == 0;
    seen |= bit;
    return first;
  };
  std::string_view v = p.value.value_or(std::string_view{});
  if (util::iequals(p.keyword, "SIZE")) {
    if (!once(1)) return duplicate(p.keyword);
    auto n = p.value ? parse_decimal_u64(v) : std::nullopt;
    if (!n) return bad_value(p.keyword);
    m.size = *n;
  } else if (util::iequals(p.keyword, "BODY")) {
    if (!once(2)) return duplicate(p.keyword);
    if (util::iequals(v, "7BIT")) {
      m.body = BodyType::SevenBit;
    } else if (util::iequals(v, "8BITMIME")) {
      m.body = BodyType::EightBitMime;
    } else if (util::iequals(v, "BINARYMIME")) {
      m.body = BodyType::BinaryMime;
    } else {
      return bad_value(p.keyword);
    }
  } else if (util::iequals(p.keyword, "RET")) {
    if (!once(4)) return duplicate(p.keyword);
    if (!util::iequals(v, "FULL") && !util::iequals(v, "HDRS")) return bad_value(p.keyword);
    m.ret = util::to_ascii_upper(v);
  } else if (util::iequals(p.keyword, "ENVID")) {
    if (!once(8)) return duplicate(p.keyword);
    auto decoded = decoded_xtext(v, kMaxEnvidBytes);
    if (!p.value || !decoded) return bad_value(p.keyword);
    m.envid = std::move(*decoded);
  } else if (util::iequals(p.keyword, "SMTPUTF8")) {
    if (!once(16)) return duplicate(p.keyword);
    if (p.value) return bad_value(p.keyword);
    m.smtputf8 = true;
  } else if (util::iequals(p.keyword, "AUTH")) {
    if (!once(32)) return duplicate(p.keyword);
    auto decoded = decoded_xtext(v, kMaxOrcptBytes);
    if (!p.value || !decoded) return bad_value(p.keyword);
    m.auth = std::move(*decoded);
  } else {
    return replies::unrecognized_parameter();
  }
  return Reply{};
}

bool parse_notify(std::string_view v, unsigned& notify) {
  while (true) {
    std::size_t comma = v.find(',');
    std::string_view item = v.substr(0, comma);
    unsigned bit = 0;
    if (util::iequals(item, "NEVER")) {
      bit = kNotifyNever;
    } else if (util::iequals(item, "SUCCESS")) {
      bit = kNotifySuccess;
    } else if (util::iequals(item, "FAILURE")) {
      bit = kNotifyFailure;
    } else if (util::iequals(item, "DELAY")) {
      bit = kNotifyDelay;
    } else {
      return false;
    }
    if (notify & bit) return false;
    notify |= bit;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  // RFC 3461 4.1: NEVER must appear alone.
  return !((notify & kNotifyNever) && notify != kNotifyNever);
}

// ORCPT = addr-type ";" xtext (RFC 3461 4.2); addr-type is an atom, "rfc822" in practice.
std::optional<std::string> parse_orcpt(std::string_view v) {
  std::size_t semi = v.find(';');
  if (semi == 0 || semi == std::string_view::npos) return std::nullopt;
  std::string_view type = v.substr(0, semi);
  if (!is_esmtp_keyword(type)) return std::nullopt;
  auto address = decoded_xtext(v.substr(semi + 1), kMaxOrcptBytes);
  if (!address || address->empty() || v.size() > kMaxOrcptBytes) return std::nullopt;
  std::string out;
  for (char c : type) out.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
  out.push_back(';');
  out += *address;
  return out;
}

Reply handle_rcpt_param(const Param& p, RcptArgs& r, unsigned& seen) {
  std::string_view v = p.value.value_or(std::string_view{});
  if (util::iequals(p.keyword, "NOTIFY")) {
    if (seen & 1) return duplicate(p.keyword);
    seen |= 1;
    if (!p.value || !parse_notify(v, r.notify)) return bad_value(p.keyword);
  } else if (util::iequals(p.keyword, "ORCPT")) {
    if (seen & 2) return duplicate(p.keyword);
    seen |= 2;
    auto orcpt = p.value ? parse_orcpt(v) : std::nullopt;
    if (!orcpt) return bad_value(p.keyword);
    r.orcpt = std::move(*orcpt);
  } else {
    return replies::unrecognized_parameter();
  }
  return Reply{};
}

}  // namespace

ParseResult<MailArgs> parse_mail_args(std::string_view args) {
  auto path_and_params = after_prefix(args, "FROM:");
  if (!path_and_params || path_and_params->empty()) {
    return ParseResult<MailArgs>::failure(replies::invalid_arguments());
  }
  auto split = split_path(*path_and_params);
  if (!split) return ParseResult<MailArgs>::failure(replies::invalid_address());
  auto sender = parse_path(split->path, Role::Sender);
  if (!sender.ok()) return ParseResult<MailArgs>::failure(std::move(sender.error));

  MailArgs m;
  m.sender = std::move(*sender.value);
  unsigned seen = 0;
  auto error = for_each_param(split->params, [&](const Param& p) -> std::optional<Reply> {
    Reply r = handle_mail_param(p, m, seen);
    if (r.code != 0) return r;
    return std::nullopt;
  });
  if (error) return ParseResult<MailArgs>::failure(std::move(*error));
  if (m.sender.utf8 && !m.smtputf8)
    return ParseResult<MailArgs>::failure(replies::smtputf8_required());
  return ParseResult<MailArgs>::success(std::move(m));
}

ParseResult<RcptArgs> parse_rcpt_args(std::string_view args, bool smtputf8_in_tx) {
  auto path_and_params = after_prefix(args, "TO:");
  if (!path_and_params || path_and_params->empty()) {
    return ParseResult<RcptArgs>::failure(replies::invalid_arguments());
  }
  auto split = split_path(*path_and_params);
  if (!split) return ParseResult<RcptArgs>::failure(replies::invalid_recipient_syntax());
  auto recipient = parse_path(split->path, Role::Recipient);
  if (!recipient.ok()) return ParseResult<RcptArgs>::failure(std::move(recipient.error));

  RcptArgs r;
  r.recipient = std::move(*recipient.value);
  unsigned seen = 0;
  auto error = for_each_param(split->params, [&](const Param& p) -> std::optional<Reply> {
    Reply reply = handle_rcpt_param(p, r, seen);
    if (reply.code != 0) return reply;
    return std::nullopt;
  });
  if (error) return ParseResult<RcptArgs>::failure(std::move(*error));
  if (r.recipient.utf8 && !smtputf8_in_tx) {
    return ParseResult<RcptArgs>::failure(replies::smtputf8_required());
  }
  return ParseResult<RcptArgs>::success(std::move(r));
}

std::optional<std::string> xtext_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    auto u = static_cast<unsigned char>(c);
    if (c == '+') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (u >= 33 && u <= 126 && c != '=') {
      out.push_back(c);
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::string xtext_encode(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 33 && u <= 126 && c != '+' && c != '=') {
      out.push_back(c);
    } else {
      out += fmt::format("+{:02X}", u);
    }
  }
  return out;
}

}  // namespace mailroom::smtp
