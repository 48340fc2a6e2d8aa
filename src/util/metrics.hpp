// util/metrics: counters, gauges and histograms every stage can update from any thread, and their
// Prometheus text exposition (format 0.0.4: "# HELP", "# TYPE", one sample per line, histograms
// as _bucket{le=...}/_sum/_count).
//
// A family (a metric name with fixed label names) hands out children per label values; callers
// take the child once (a listener's counters at start, say) and update it with one atomic add on
// the hot path. Label values are escaped on output (\\, \", \n), so a client-chosen value cannot
// break the format. Callback gauges compute their value at scrape time (queue depth).
// Never: blocks an updater on a scrape (children are created under a mutex; updates are atomic).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mailroom::util {

class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double v);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);  // upper bounds, ascending; +Inf is implied
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bound (and +Inf last), sum, count: a consistent-enough snapshot.
  std::vector<std::uint64_t> cumulative() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // one per bound, plus +Inf
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

using Labels = std::vector<std::string>;  // values, in the family's label-name order

template <typename Child>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::function<std::unique_ptr<Child>()> make)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        make_(std::move(make)) {}
  // The child for these label values, created on first use; the reference stays valid.
  Child& with(const Labels& values);
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // (labels, child) pairs, in label order.
  std::vector<std::pair<Labels, const Child*>> children() const;

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::function<std::unique_ptr<Child>()> make_;
  mutable std::mutex mutex_;
  std::map<Labels, std::unique_ptr<Child>> children_;
};

class Registry {
 public:
  Family<Counter>& counter(const std::string& name, const std::string& help,
                           std::vector<std::string> label_names = {});
  Family<Gauge>& gauge(const std::string& name, const std::string& help,
                       std::vector<std::string> label_names = {});
  Family<Histogram>& histogram(const std::string& name, const std::string& help,
                               std::vector<double> bounds,
                               std::vector<std::string> label_names = {});
  // A gauge whose samples are computed when scraped: fn returns (label values, value) pairs.
  using Sampler = std::function<std::vector<std::pair<Labels, double>>()>;
  void callback_gauge(const std::string& name, const std::string& help,
                      std::vector<std::string> label_names, Sampler fn);

  std::string exposition() const;  // text format 0.0.4

 private:
  struct CallbackGauge {
    std::string name, help;
    std::vector<std::string> label_names;
    Sampler fn;
  };
  mutable std::mutex mutex_;
  // std::deque: families never move once handed out.
  std::deque<Family<Counter>> counters_;
  std::deque<Family<Gauge>> gauges_;
  std::deque<Family<Histogram>> histograms_;
  std::vector<CallbackGauge> callbacks_;
  std::vector<std::pair<char, std::size_t>> order_;  // output in registration order
};

// The process's registry.
Registry& metrics();

// Default latency buckets in seconds (1 ms .. 60 s).
std::vector<double> latency_buckets();

}  // namespace mailroom::util
