#include "client/mx_report.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace mailroom::client {

bool MxReport::deliverable() const {
  for (const auto& h : hosts)
    if (!h.addresses.empty()) return true;
  return false;
}

asio::awaitable<MxReport> lookup_mx_report(dns::Resolver& resolver, std::string domain) {
  MxReport report;
  report.domain = domain;
  dns::MxAnswer mx = co_await resolver.mx(domain);
  report.mx_status = mx.status;
  report.null_mx = mx.null_mx;
  if (mx.status == dns::Status::Ok && !mx.null_mx) {
    for (const auto& r : mx.records) {
      if (r.exchange == ".") continue;  // a stray null MX among real ones is ignored
      MxHostReport h;
      h.name = r.exchange;
      h.preference = r.preference;
      report.hosts.push_back(std::move(h));
    }
  } else if (mx.status == dns::Status::NoData) {
    // RFC 5321 5.1: no MX records, so the domain itself is the host (the implicit MX).
    report.implicit_mx = true;
    MxHostReport h;
    h.name = domain;
    h.implicit = true;
    report.hosts.push_back(std::move(h));
  }
  for (auto& h : report.hosts) {
    dns::AddressAnswer a = co_await resolver.addresses(h.name);
    h.address_status = a.status;
    for (const auto& ip : a.addresses) {
      MxHostReport::Address entry;
      entry.ip = ip.to_string();
      dns::PtrAnswer ptr = co_await resolver.ptr(ip);
      entry.ptr_status = ptr.status;
      entry.ptr = ptr.hosts;
      h.addresses.push_back(std::move(entry));
    }
  }
  if (report.null_mx) {
    report.verdict = fmt::format("{} publishes a null MX (RFC 7505): it accepts no mail", domain);
  } else if (mx.status == dns::Status::NxDomain) {
    report.verdict = fmt::format("{} does not exist (NXDOMAIN): mail to it bounces", domain);
  } else if (dns::is_temporary(mx.status)) {
    report.verdict =
        fmt::format("the MX lookup failed ({}): mail to {} is deferred until DNS answers",
                    dns::to_string(mx.status), domain);
  } else if (!report.deliverable()) {
    report.verdict = report.implicit_mx
                         ? fmt::format("{} has no MX and no address: mail to it bounces", domain)
                         : "no MX host has an address: mail to it cannot be delivered";
  } else if (report.implicit_mx) {
    report.verdict =
        fmt::format("{} has no MX records: mail goes to its own address (implicit MX)", domain);
  }
  co_return report;
}

std::string render_text(const MxReport& r) {
  std::string out = fmt::format("{}:\n", r.domain);
  if (r.mx_status == dns::Status::Ok && !r.null_mx) {
    for (const auto& h : r.hosts) {
      out += fmt::format("  MX preference = {:<5} mail exchanger = {}\n", h.preference, h.name);
    }
  }
  for (const auto& h : r.hosts) {
    out += fmt::format("  {}{}\n", h.name, h.implicit ? " (implicit MX)" : "");
    if (h.addresses.empty())
      out += fmt::format("    no address ({})\n", dns::to_string(h.address_status));
    for (const auto& a : h.addresses) {
      std::string ptr = a.ptr.empty() ? fmt::format("no PTR ({})", dns::to_string(a.ptr_status))
                                      : "PTR " + a.ptr.front();
      for (std::size_t i = 1; i < a.ptr.size(); ++i) ptr += ", " + a.ptr[i];
      out += fmt::format("    {:<40} {}\n", a.ip, ptr);
    }
  }
  if (r.verdict) out += fmt::format("  => {}\n", *r.verdict);
  return out;
}

std::string render_json(const MxReport& r) {
  nlohmann::json j;
  j["domain"] = r.domain;
  j["mx_status"] = std::string(dns::to_string(r.mx_status));
  j["null_mx"] = r.null_mx;
  j["implicit_mx"] = r.implicit_mx;
  j["deliverable"] = r.deliverable();
  j["verdict"] = r.verdict ? nlohmann::json(*r.verdict) : nlohmann::json(nullptr);
  j["hosts"] = nlohmann::json::array();
  for (const auto& h : r.hosts) {
    nlohmann::json host{{"name", h.name},
                        {"preference", h.preference},
                        {"implicit", h.implicit},
                        {"address_status", std::string(dns::to_string(h.address_status))},
                        {"addresses", nlohmann::json::array()}};
    for (const auto& a : h.addresses)
      host["addresses"].push_back({{"ip", a.ip},
                                   {"ptr", a.ptr},
                                   {"ptr_status", std::string(dns::to_string(a.ptr_status))}});
    j["hosts"].push_back(std::move(host));
  }
  return j.dump(2) + "\n";
}

int exit_status(const MxReport& r) {
  if (r.deliverable()) return 0;
  if (dns::is_temporary(r.mx_status)) return 3;
  for (const auto& h : r.hosts)
    if (dns::is_temporary(h.address_status)) return 3;
  return 1;
}

}  // namespace mailroom::client
