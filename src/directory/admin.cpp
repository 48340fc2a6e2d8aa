// Validated admin changes; see admin.hpp for the contract.
#include "directory/admin.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "directory/address.hpp"
#include "directory/password.hpp"
#include "util/ascii.hpp"

namespace mailroom::directory {
namespace {

using Kind = Mutation::Kind;

[[noreturn]] void bad_input(const std::string& why) {
  throw AdminError(AdminError::Kind::BadInput, why);
}
[[noreturn]] void not_found(const std::string& why) {
  throw AdminError(AdminError::Kind::NotFound, why);
}

AddressParts mailbox_or_throw(std::string_view address) {
  auto parts = parse_mailbox_address(address);
  if (!parts) bad_input(fmt::format("invalid address \"{}\"", address));
  return *parts;
}

std::string domain_or_throw(std::string_view domain) {
  auto canonical = canonical_domain(domain);
  if (!canonical) bad_input(fmt::format("invalid domain \"{}\"", domain));
  return *canonical;
}

void check_password(std::string_view password) {
  if (password.empty()) bad_input("empty password");
  if (password.size() > kMaxPasswordBytes)
    bad_input(fmt::format("password longer than {} bytes", kMaxPasswordBytes));
}

void require_local_domain(const Snapshot& s, const std::string& domain) {
  if (!s.is_local_domain(domain)) {
    bad_input(
        fmt::format("unknown domain {}: not a local domain (see mailroom domain add)", domain));
  }
}

bool has_alias_target(const DirectoryData& data, const std::string& source,
                      const std::string& target) {
  return std::any_of(data.aliases.begin(), data.aliases.end(),
                     [&](const AliasRow& a) { return a.source == source && a.target == target; });
}

std::string domain_of(const std::string& address) { return address.substr(address.rfind('@') + 1); }

}  // namespace

DirectoryAdmin::DirectoryAdmin(std::unique_ptr<Store> store, const config::Config& cfg)
    : store_(std::move(store)),
      config_domains_(cfg.server.local_domains),
      options_(ResolveOptions::from(cfg.directory)) {}

DirectoryAdmin DirectoryAdmin::open(const config::Config& cfg) {
  return DirectoryAdmin(open_store(cfg), cfg);
}

Snapshot DirectoryAdmin::snapshot_of(const DirectoryData& data) const {
  return Snapshot::build(data, config_domains_);
}

void DirectoryAdmin::add_domain(std::string_view domain_text) {
  std::string domain = domain_or_throw(domain_text);
  store_->update([&](const DirectoryData& data) {
    if (snapshot_of(data).is_local_domain(domain))
      bad_input(fmt::format("{} is already a local domain", domain));
    return std::vector<Mutation>{{Kind::AddDomain, domain, ""}};
  });
}

void DirectoryAdmin::delete_domain(std::string_view domain_text) {
  std::string domain = domain_or_throw(domain_text);
  store_->update([&](const DirectoryData& data) {
    if (std::find(data.domains.begin(), data.domains.end(), domain) == data.domains.end()) {
      if (snapshot_of(data).is_local_domain(domain))
        bad_input(fmt::format("{} is a local domain in the configuration file", domain));
      not_found(fmt::format("{}: no such domain", domain));
    }
    auto users = std::count_if(data.users.begin(), data.users.end(),
                               [&](const UserRow& u) { return domain_of(u.address) == domain; });
    std::set<std::string> aliases;
    for (const auto& a : data.aliases) {
      if (domain_of(a.source) == domain || util::to_ascii_lower(domain_of(a.target)) == domain)
        aliases.insert(a.source);
    }
    if (users > 0 || !aliases.empty()) {
      bad_input(fmt::format("{} is still used by {} mailbox(es) and {} alias(es)", domain, users,
                            aliases.size()));
    }
    return std::vector<Mutation>{{Kind::DeleteDomain, domain, ""}};
  });
}

std::vector<std::string> DirectoryAdmin::domains() { return snapshot_of(store_->load()).domains; }

void DirectoryAdmin::add_user(std::string_view address, std::string_view password) {
  auto parts = mailbox_or_throw(address);
  check_password(password);
  std::string canonical = parts.joined();
  auto check = [&](const DirectoryData& data) {
    auto s = snapshot_of(data);
    require_local_domain(s, parts.domain);
    if (s.is_user(canonical)) bad_input(fmt::format("{} already exists", canonical));
    if (s.alias_targets(canonical)) bad_input(fmt::format("{} is an alias", canonical));
  };
  check(store_->load());  // fail fast, before spending tens of milliseconds on argon2id
  std::string hash = hash_password(password);
  store_->update([&](const DirectoryData& data) {
    check(data);
    return std::vector<Mutation>{{Kind::AddUser, canonical, hash}};
  });
}

std::vector<std::string> DirectoryAdmin::delete_user(std::string_view address) {
  std::string canonical = mailbox_or_throw(address).joined();
  std::vector<std::string> removed;
  store_->update([&](const DirectoryData& data) {
    if (!snapshot_of(data).is_user(canonical))
      not_found(fmt::format("{}: no such user", canonical));
    removed.clear();  // update() may run this again after a conflict
    std::vector<Mutation> mutations{{Kind::DeleteUser, canonical, ""}};
    std::map<std::string, std::size_t> left;  // source -> targets not naming the user
    for (const auto& a : data.aliases) {
      auto& count = left[a.source];
      if (util::to_ascii_lower(a.target) == canonical) {
        mutations.push_back({Kind::DeleteAliasTarget, a.source, a.target});
        removed.push_back(a.source + " -> " + a.target);
      } else {
        ++count;
      }
    }
    for (const auto& [source, count] : left)
      if (count == 0) mutations.push_back({Kind::DeleteAlias, source, ""});
    return mutations;
  });
  return removed;
}

void DirectoryAdmin::set_password(std::string_view address, std::string_view password) {
  std::string canonical = mailbox_or_throw(address).joined();
  check_password(password);
  auto check = [&](const DirectoryData& data) {
    if (!snapshot_of(data).is_user(canonical))
      not_found(fmt::format("{}: no such user", canonical));
  };
  check(store_->load());
  std::string hash = hash_password(password);
  store_->update([&](const DirectoryData& data) {
    check(data);
    return std::vector<Mutation>{{Kind::SetPassword, canonical, hash}};
  });
}

std::vector<std::string> DirectoryAdmin::users() {
  std::vector<std::string> out;
  for (const auto& u : store_->load().users) out.push_back(u.address);
  return out;
}

void DirectoryAdmin::add_alias(std::string_view source_text,
                               const std::vector<std::string>& target_texts) {
  auto source_parts = parse_alias_source(source_text);
  if (!source_parts) bad_input(fmt::format("invalid alias \"{}\"", source_text));
  std::string source =
      source_parts->local.empty() ? "@" + source_parts->domain : source_parts->joined();
  if (target_texts.empty()) bad_input(fmt::format("{}: no targets", source));
  std::vector<std::string> targets;
  for (const auto& t : target_texts) {
    auto parts = parse_alias_target(t);
    if (!parts) bad_input(fmt::format("invalid target address \"{}\"", t));
    targets.push_back(parts->joined());
  }
  store_->update([&](const DirectoryData& data) {
    auto before = snapshot_of(data);
    require_local_domain(before, source_parts->domain);
    if (before.is_user(source)) bad_input(fmt::format("{} is a mailbox", source));
    DirectoryData proposed = data;
    std::vector<Mutation> mutations;
    for (auto target : targets) {
      if (before.is_local_domain(domain_of(target))) target = util::to_ascii_lower(target);
      if (std::any_of(mutations.begin(), mutations.end(),
                      [&](const Mutation& m) { return m.value == target; }))
        continue;
      if (has_alias_target(data, source, target))
        bad_input(fmt::format("{} -> {} already exists", source, target));
      proposed.aliases.push_back(AliasRow{source, target});
      mutations.push_back({Kind::AddAliasTarget, source, target});
    }
    auto after = snapshot_of(proposed);
    for (const auto& m : mutations) {
      auto r = resolve_address(after, m.value, options_);
      if (r.status == Resolution::Status::UnknownUser)
        bad_input(fmt::format("target {}: no such user or alias", m.value));
    }
    // Reject the change if it breaks any alias that worked before (a loop through this one, or
    // a list it is part of growing past the limits).
    for (const auto& [alias, ignored] : after.aliases) {
      auto r = expand_alias(after, alias, options_);
      if (r.status == Resolution::Status::AliasError &&
          expand_alias(before, alias, options_).status != Resolution::Status::AliasError)
        bad_input(r.error);
    }
    return mutations;
  });
}

void DirectoryAdmin::delete_alias(std::string_view source_text,
                                  const std::vector<std::string>& target_texts) {
  auto source_parts = parse_alias_source(source_text);
  if (!source_parts) bad_input(fmt::format("invalid alias \"{}\"", source_text));
  std::string source =
      source_parts->local.empty() ? "@" + source_parts->domain : source_parts->joined();
  store_->update([&](const DirectoryData& data) {
    auto s = snapshot_of(data);
    if (!s.alias_targets(source)) not_found(fmt::format("{}: no such alias", source));
    std::vector<Mutation> mutations;
    if (target_texts.empty()) mutations.push_back({Kind::DeleteAlias, source, ""});
    for (const auto& t : target_texts) {
      auto parts = parse_alias_target(t);
      if (!parts) bad_input(fmt::format("invalid target address \"{}\"", t));
      auto target = parts->joined();
      if (s.is_local_domain(parts->domain)) target = util::to_ascii_lower(target);
      if (!has_alias_target(data, source, target))
        not_found(fmt::format("{} -> {}: no such alias target", source, target));
      mutations.push_back({Kind::DeleteAliasTarget, source, target});
    }
    return mutations;
  });
}

std::vector<AliasEntry> DirectoryAdmin::aliases() {
  std::vector<AliasEntry> out;
  std::unordered_map<std::string, std::size_t> index;
  for (const auto& row : store_->load().aliases) {
    auto [it, inserted] = index.emplace(row.source, out.size());
    if (inserted) out.push_back(AliasEntry{row.source, {}});
    out[it->second].targets.push_back(row.target);
  }
  return out;
}

std::vector<PostmasterRoute> DirectoryAdmin::postmaster_routes() {
  const auto snapshot = snapshot_of(store_->load());
  std::vector<PostmasterRoute> out;
  if (snapshot.domains.empty()) return out;
  const std::string& first = snapshot.domains.front();
  for (const auto& domain : snapshot.domains) {
    PostmasterRoute route;
    route.address = "postmaster@" + domain;
    if (snapshot.is_user(route.address)) {
      route.rule = "mailbox";
    } else if (snapshot.alias_targets(route.address)) {
      route.rule = "alias";
    } else if (snapshot.alias_targets("@" + domain)) {
      route.rule = "catch-all @" + domain;
    } else if (domain != first) {
      route.rule = "default: as postmaster@" + first;
    } else {
      route.rule = "default";
    }
    auto r = resolve_address(snapshot, route.address, options_);
    if (r.status == Resolution::Status::AliasError) route.destinations.push_back(r.error);
    for (const auto& m : r.mailboxes) {
      route.destinations.push_back(m.address());
      if (m.user == "postmaster" && m.domain == first && !snapshot.is_user(m.address()))
        route.default_mailbox = true;
    }
    for (const auto& f : r.forwards) route.destinations.push_back(f);
    out.push_back(std::move(route));
  }
  return out;
}

}  // namespace mailroom::directory
