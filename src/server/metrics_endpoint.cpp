#include "server/metrics_endpoint.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "config/config.hpp"
#include "net/asio_tuple.hpp"
#include "net/deadline.hpp"
#include "util/metrics.hpp"

namespace mailroom::server {
namespace {

constexpr std::size_t kMaxHeadBytes = 8192;
constexpr std::size_t kMaxScrapes = 16;
constexpr auto kReadTimeout = std::chrono::seconds(5);

std::string response(int code, std::string_view reason, std::string_view content_type,
                     std::string_view body) {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
      code, reason, content_type, body.size(), body);
}

struct ScrapeCount {
  std::size_t active = 0;
};

asio::awaitable<void> serve_scrape(asio::ip::tcp::socket socket,
                                   std::shared_ptr<ScrapeCount> count) {
  ++count->active;
  std::string head;
  net::Deadline deadline(socket.get_executor());
  deadline.arm(kReadTimeout, [&socket] {
    std::error_code ignored;
    socket.close(ignored);
  });
  char buf[2048];
  while (head.find("\r\n\r\n") == std::string::npos && head.find("\n\n") == std::string::npos &&
         head.size() <= kMaxHeadBytes) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), use_tuple);
    if (ec) break;
    head.append(buf, n);
  }
  deadline.disarm();
  if (socket.is_open() && !head.empty()) {
    const bool too_large = head.size() > kMaxHeadBytes;
    std::string reply = metrics_http_response(head, too_large);
    deadline.arm(kReadTimeout, [&socket] {
      std::error_code ignored;
      socket.close(ignored);
    });
    co_await asio::async_write(socket, asio::buffer(reply), use_tuple);
    deadline.disarm();
  }
  std::error_code ignored;
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  --count->active;
}

asio::awaitable<void> accept_scrapes(asio::ip::tcp::acceptor acceptor) {
  auto count = std::make_shared<ScrapeCount>();
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // EMFILE and the like: pause instead of spinning.
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(200));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    if (count->active >= kMaxScrapes) {
      std::error_code ignored;
      socket.close(ignored);
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), serve_scrape(std::move(socket), count), asio::detached);
  }
}

}  // namespace

std::string metrics_http_response(std::string_view head, bool too_large) {
  if (too_large)
    return response(431, "Request Header Fields Too Large", "text/plain", "request too large\n");
  auto line = head.substr(0, head.find_first_of("\r\n"));
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      line.substr(sp2 + 1, 5) != "HTTP/")
    return response(400, "Bad Request", "text/plain", "bad request\n");
  auto method = line.substr(0, sp1);
  auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (method != "GET") return response(405, "Method Not Allowed", "text/plain", "GET /metrics\n");
  if (target != "/metrics" && target.rfind("/metrics?", 0) != 0)
    return response(404, "Not Found", "text/plain", "GET /metrics\n");
  return response(200, "OK", "text/plain; version=0.0.4; charset=utf-8",
                  util::metrics().exposition());
}

void start_metrics_endpoint(asio::io_context& io, const std::string& address) {
  auto host = config::listener_host(address);
  auto port = static_cast<unsigned short>(std::stoul(address.substr(address.rfind(':') + 1)));
  std::error_code ec;
  auto ip = host == "*" ? asio::ip::address(asio::ip::address_v4::any())
                        : asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error(fmt::format("metrics.address: bad host in \"{}\"", address));
  asio::ip::tcp::acceptor acceptor(io);
  asio::ip::tcp::endpoint ep(ip, port);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(64, ec);
  if (ec)
    throw std::runtime_error(
        fmt::format("metrics.address: cannot listen on {}: {}", address, ec.message()));
  spdlog::info("event=metrics_listening address={}", address);
  asio::co_spawn(io, accept_scrapes(std::move(acceptor)), asio::detached);
}

}  // namespace mailroom::server
