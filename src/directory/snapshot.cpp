// Building the indexed snapshot; see snapshot.hpp for the contract.
#include "directory/snapshot.hpp"

#include "directory/address.hpp"

namespace mailroom::directory {

Snapshot Snapshot::build(const DirectoryData& data,
                         const std::vector<std::string>& config_domains) {
  Snapshot s;
  auto add_domain = [&s](const std::string& domain) {
    auto canonical = canonical_domain(domain);
    if (canonical && s.domain_set.insert(*canonical).second) s.domains.push_back(*canonical);
  };
  for (const auto& d : config_domains) add_domain(d);
  for (const auto& d : data.domains) add_domain(d);
  for (const auto& u : data.users) s.password_hashes.emplace(u.address, u.password_hash);
  for (const auto& a : data.aliases) s.aliases[a.source].push_back(a.target);
  s.change_counter = data.change_counter;
  return s;
}

const std::vector<std::string>* Snapshot::alias_targets(const std::string& source) const {
  auto it = aliases.find(source);
  return it == aliases.end() ? nullptr : &it->second;
}

}  // namespace mailroom::directory
