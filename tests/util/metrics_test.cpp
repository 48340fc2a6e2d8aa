// The metrics registry and its Prometheus text exposition: HELP/TYPE lines, label escaping,
// cumulative histogram buckets, callback gauges.
#include "util/metrics.hpp"

#include <gtest/gtest.h>

namespace mailroom::util {
namespace {

TEST(Metrics, ExpositionOfEveryKind) {
  Registry r;
  auto& c = r.counter("t_requests_total", "Requests\nseen", {"listener"});
  c.with({"inbound"}).inc(3);
  c.with({"sub\"mission\\\n"}).inc();
  r.gauge("t_open", "Open").with({}).set(2.5);
  auto& h = r.histogram("t_seconds", "Latency", {0.1, 1}).with({});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(7);
  r.callback_gauge("t_queue", "Queue", {"state"}, [] {
    return std::vector<std::pair<Labels, double>>{{{"ready"}, 4}};
  });
  const std::string text = r.exposition();
  for (const char* want :
       {"# HELP t_requests_total Requests\\nseen\n# TYPE t_requests_total counter\n",
        "t_requests_total{listener=\"inbound\"} 3\n",
        "t_requests_total{listener=\"sub\\\"mission\\\\\\n\"} 1\n", "# TYPE t_open gauge\n",
        "t_open 2.5\n", "# TYPE t_seconds histogram\n", "t_seconds_bucket{le=\"0.1\"} 1\n",
        "t_seconds_bucket{le=\"1\"} 2\n", "t_seconds_bucket{le=\"+Inf\"} 3\n",
        "t_seconds_sum 7.55\n", "t_seconds_count 3\n", "t_queue{state=\"ready\"} 4\n"})
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n--- in ---\n" << text;
}

TEST(Metrics, SameNameGivesTheSameFamilyAndChildrenStayPut) {
  Registry r;
  auto& a = r.counter("t_x_total", "x", {"l"}).with({"one"});
  for (int i = 0; i < 100; ++i) r.counter("t_x_total", "x", {"l"}).with({std::to_string(i)});
  a.inc();
  EXPECT_EQ(r.counter("t_x_total", "x", {"l"}).with({"one"}).value(), 1u);
}

}  // namespace
}  // namespace mailroom::util
