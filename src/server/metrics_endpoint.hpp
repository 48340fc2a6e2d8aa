// server/metrics_endpoint: `[metrics] address` serves the process's metrics (util/metrics.hpp)
// in the Prometheus text format at GET /metrics over plain HTTP/1.x, for a scraper on a trusted
// address (bind it to loopback or a management network; there is no authentication).
//
// Hostile input: a request head is read up to 8 KiB within 5 s, then answered and closed (400
// for garbage, 404 for other paths, 405 for other methods, 431 for an oversized head, nothing
// for a client too slow); at most 16 scrapes at once, further connections are closed at once.
// Runs on the server's event loop and never waits on anything but its own sockets, so a bad
// scraper cannot hold up mail.
#pragma once

#include <asio.hpp>
#include <string>

namespace mailroom::server {

// Binds `address` ("127.0.0.1:9325", "[::1]:9325") and serves until the io_context stops.
// Throws std::runtime_error with one line when it cannot bind.
void start_metrics_endpoint(asio::io_context& io, const std::string& address);

// The HTTP reply to one request head: the exposition for GET /metrics, else the error.
std::string metrics_http_response(std::string_view request_head, bool too_large);

}  // namespace mailroom::server
