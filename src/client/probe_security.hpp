// client/probe_security: the probe's --security checks (see probe.hpp).
#pragma once

#include <asio.hpp>
#include <string>
#include <string_view>

#include "client/probe.hpp"
#include "net/smtp_client.hpp"

namespace mailroom::client {

asio::awaitable<ProbeStep> check_starttls_injection(net::SmtpClient& client,
                                                    const net::ClientEndpoint& where,
                                                    const std::string& ehlo_name);
asio::awaitable<ProbeStep> check_smuggling(net::SmtpClient& client,
                                           const net::ClientEndpoint& where,
                                           const std::string& ehlo_name, const std::string& from,
                                           const std::string& to, std::string_view name,
                                           std::string_view lookalike);

}  // namespace mailroom::client
