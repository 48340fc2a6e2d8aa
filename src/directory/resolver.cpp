// Recursive alias expansion; see resolver.hpp for the rules.
#include "directory/resolver.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "directory/address.hpp"
#include "util/ascii.hpp"

namespace mailroom::directory {
namespace {

bool is_safe_folder(std::string_view tag) {
  return !tag.empty() && std::all_of(tag.begin(), tag.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

struct AliasFailure {
  std::string why;
};

class Expander {
 public:
  Expander(const Snapshot& snapshot, const ResolveOptions& options, Resolution& out)
      : snapshot_(snapshot), options_(options), out_(out) {}

  void expand_source(const std::string& source) {
    if (snapshot_.alias_targets(source)) expand_alias(source);
  }

  // Rules 1-3 for an address in a local domain; false when nothing matched.
  bool expand_local(const std::string& local, const std::string& domain) {
    if (match_exact(local, domain, "")) return true;
    if (options_.plus_addressing) {
      auto delim = local.find(options_.recipient_delimiter);
      if (delim != std::string::npos && delim > 0) {
        std::string tag = local.substr(delim + 1);
        if (match_exact(local.substr(0, delim), domain, is_safe_folder(tag) ? tag : ""))
          return true;
      }
    }
    if (snapshot_.alias_targets("@" + domain)) {
      expand_alias("@" + domain);
      return true;
    }
    if (local == "postmaster") {
      add_default_postmaster(domain);
      return true;
    }
    return false;
  }

 private:
  bool match_exact(const std::string& local, const std::string& domain, const std::string& folder) {
    std::string address = local + "@" + domain;
    if (snapshot_.is_user(address)) {
      add_mailbox(Mailbox{local, domain, folder});
      return true;
    }
    if (snapshot_.alias_targets(address)) {
      expand_alias(address);
      return true;
    }
    return false;
  }

  // Rule 4 (resolver.hpp): the postmaster of a domain with no rule of its own is the first
  // domain's postmaster, and that one, without a rule, is the dedicated mailbox
  // postmaster@<first domain>: never somebody's inbox unless the administrator says so.
  void add_default_postmaster(const std::string& domain) {
    const std::string& first = snapshot_.domains.front();  // `domain` is local: not empty
    if (domain != first) {
      expand_local("postmaster", first);
    } else {
      add_mailbox(Mailbox{"postmaster", first, ""});
    }
  }

  void expand_alias(const std::string& source) {
    // Each alias is expanded once: a diamond (a -> b, a -> c, b -> d, c -> d) is no loop, and
    // memoising keeps hostile graphs linear instead of exponential.
    if (expanded_.count(source)) return;
    if (std::find(path_.begin(), path_.end(), source) != path_.end()) {
      std::string chain;
      for (const auto& p : path_) chain += p + " -> ";
      throw AliasFailure{fmt::format("alias loop: {}{}", chain, source)};
    }
    if (path_.size() >= options_.max_alias_depth) {
      throw AliasFailure{
          fmt::format("alias nesting deeper than {} at {}", options_.max_alias_depth, source)};
    }
    path_.push_back(source);
    for (const auto& target : *snapshot_.alias_targets(source)) expand_target(target);
    path_.pop_back();
    expanded_.insert(source);
  }

  void expand_target(const std::string& target) {
    auto at = target.rfind('@');
    std::string domain = target.substr(at + 1);
    if (!snapshot_.is_local_domain(domain)) {
      if (forwards_seen_.insert(util::to_ascii_lower(target)).second) {
        out_.forwards.push_back(target);
        check_fanout();
      }
      return;
    }
    std::string local = util::to_ascii_lower(target.substr(0, at));
    if (is_storable_local_part(local)) expand_local(local, domain);
  }

  void add_mailbox(Mailbox mailbox) {
    if (mailboxes_seen_.insert(mailbox.address() + "/" + mailbox.folder).second) {
      out_.mailboxes.push_back(std::move(mailbox));
      check_fanout();
    }
  }

  void check_fanout() {
    if (out_.mailboxes.size() + out_.forwards.size() > options_.max_alias_fanout) {
      throw AliasFailure{fmt::format("alias expands to more than {} addresses (at {})",
                                     options_.max_alias_fanout,
                                     path_.empty() ? std::string("?") : path_.back())};
    }
  }

  const Snapshot& snapshot_;
  const ResolveOptions& options_;
  Resolution& out_;
  std::vector<std::string> path_;
  std::set<std::string> expanded_;
  std::set<std::string> mailboxes_seen_;
  std::set<std::string> forwards_seen_;
};

}  // namespace

ResolveOptions ResolveOptions::from(const config::DirectoryConfig& cfg) {
  return ResolveOptions{cfg.plus_addressing, cfg.recipient_delimiter, cfg.max_alias_depth,
                        cfg.max_alias_fanout};
}

namespace {

template <typename Run>
Resolution run_expander(const Snapshot& snapshot, const ResolveOptions& options, Run run) {
  Resolution out;
  out.status = Resolution::Status::UnknownUser;
  try {
    Expander expander(snapshot, options, out);
    run(expander);
  } catch (const AliasFailure& failure) {
    out.status = Resolution::Status::AliasError;
    out.error = failure.why;
    out.mailboxes.clear();
    out.forwards.clear();
    return out;
  }
  if (!out.mailboxes.empty() || !out.forwards.empty()) out.status = Resolution::Status::Ok;
  return out;
}

}  // namespace

Resolution expand_alias(const Snapshot& snapshot, const std::string& source,
                        const ResolveOptions& options) {
  return run_expander(snapshot, options, [&](Expander& e) { e.expand_source(source); });
}

Resolution resolve_address(const Snapshot& snapshot, std::string_view address,
                           const ResolveOptions& options) {
  Resolution out;
  // RFC 5321 4.5.1: "RCPT TO:<Postmaster>" without a domain must be accepted too.
  if (address.find('@') == std::string_view::npos &&
      util::to_ascii_lower(address) == "postmaster" && !snapshot.domains.empty()) {
    return resolve_address(snapshot, "postmaster@" + snapshot.domains.front(), options);
  }
  auto lookup = parse_lookup_address(address);
  if (!lookup.domain_ok || !snapshot.is_local_domain(lookup.parts.domain)) {
    out.status = Resolution::Status::NotLocal;
    return out;
  }
  out.status = Resolution::Status::UnknownUser;
  if (!lookup.local_ok) return out;
  return run_expander(snapshot, options, [&](Expander& e) {
    e.expand_local(lookup.parts.local, lookup.parts.domain);
  });
}

}  // namespace mailroom::directory
