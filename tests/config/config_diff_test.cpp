// What a reload applies and what it leaves for a restart (config/config_diff.hpp).
#include "config/config_diff.hpp"

#include <gtest/gtest.h>

namespace mailroom::config {
namespace {

using Keys = std::vector<std::string>;

TEST(ConfigDiff, SameConfigNeedsNoRestart) {
  const auto c = default_config();
  EXPECT_EQ(keys_needing_restart(c, c), Keys{});
}

TEST(ConfigDiff, ListenersLimitsTlsAndServerNamesAreReloaded) {
  const auto running = default_config();
  auto next = running;
  next.listeners[0].max_message_size = 1000;
  next.listeners[0].address = "127.0.0.1:2600";
  next.listeners.push_back(next.listeners[0]);
  next.listeners.back().name = "extra";
  next.limits.idle_timeout_s = 7;
  next.tls.cert_file = "/etc/ssl/new.pem";
  next.server.hostname = "mx2.example.test";
  next.server.banner = "other";
  next.server.log_level = "debug";
  next.server.shutdown_grace_s = 3;
  EXPECT_EQ(keys_needing_restart(running, next), Keys{});
  const auto got = reloaded_config(running, next);
  EXPECT_EQ(render_config(got), render_config(next));
}

TEST(ConfigDiff, WhatLivesForTheWholeRunIsNamedAndKept) {
  const auto running = default_config();
  auto next = running;
  next.queue.delivery_workers = 9;
  next.delivery.relayhost = "[127.0.0.1]:2500";
  next.delivery.tls_policy.emplace_back("example.org", OutboundTls::Verify);
  next.dns.servers = {"127.0.0.1:5353"};
  next.server.data_dir = "/elsewhere";
  next.limits.client_rate_window_s = 5;
  next.limits.idle_timeout_s = 7;  // reloaded: not named
  EXPECT_EQ(keys_needing_restart(running, next),
            (Keys{"server.data_dir", "limits.client_rate_window_s", "queue.delivery_workers",
                  "delivery.relayhost", "delivery.tls_policy.\"example.org\"", "dns.servers"}));
  const auto got = reloaded_config(running, next);
  EXPECT_EQ(got.queue.delivery_workers, running.queue.delivery_workers);
  EXPECT_EQ(got.delivery.relayhost, running.delivery.relayhost);
  EXPECT_TRUE(got.delivery.tls_policy.empty());
  EXPECT_EQ(got.server.data_dir, running.server.data_dir);
  EXPECT_EQ(got.limits.client_rate_window_s, running.limits.client_rate_window_s);
  EXPECT_EQ(got.limits.idle_timeout_s, 7u);
}

TEST(ConfigDiff, ARemovedPolicyEntryIsNamedToo) {
  auto running = default_config();
  running.delivery.tls_policy.emplace_back("example.org", OutboundTls::Verify);
  auto next = default_config();
  EXPECT_EQ(keys_needing_restart(running, next), (Keys{"delivery.tls_policy.\"example.org\""}));
}

}  // namespace
}  // namespace mailroom::config
