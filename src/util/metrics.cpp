#include "util/metrics.hpp"

#include <fmt/format.h>

#include <cmath>

namespace mailroom::util {
namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string label_text(const std::vector<std::string>& names, const Labels& values,
                       const std::string& extra = {}) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i)
    out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", names[i], escape_label(values[i]));
  if (!extra.empty()) out += (out.empty() ? "" : ",") + extra;
  return out.empty() ? "" : "{" + out + "}";
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  return fmt::format("{}", v);
}

void add_atomic(std::atomic<double>& a, double v) {
  double old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, old + v, std::memory_order_relaxed)) {
  }
}

}  // namespace

void Gauge::add(double v) { add_atomic(value_, v); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double v) {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  add_atomic(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

template <typename Child>
Child& Family<Child>::with(const Labels& values) {
  std::lock_guard lock(mutex_);
  auto& slot = children_[values];
  if (!slot) slot = make_();
  return *slot;
}

template <typename Child>
std::vector<std::pair<Labels, const Child*>> Family<Child>::children() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<Labels, const Child*>> out;
  for (const auto& [labels, child] : children_) out.emplace_back(labels, child.get());
  return out;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Family<Counter>& Registry::counter(const std::string& name, const std::string& help,
                                   std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  for (auto& f : counters_)
    if (f.name() == name) return f;
  counters_.emplace_back(name, help, std::move(label_names),
                         [] { return std::make_unique<Counter>(); });
  order_.emplace_back('c', counters_.size() - 1);
  return counters_.back();
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help,
                               std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  for (auto& f : gauges_)
    if (f.name() == name) return f;
  gauges_.emplace_back(name, help, std::move(label_names),
                       [] { return std::make_unique<Gauge>(); });
  order_.emplace_back('g', gauges_.size() - 1);
  return gauges_.back();
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help,
                                       std::vector<double> bounds,
                                       std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  for (auto& f : histograms_)
    if (f.name() == name) return f;
  histograms_.emplace_back(name, help, std::move(label_names),
                           [bounds] { return std::make_unique<Histogram>(bounds); });
  order_.emplace_back('h', histograms_.size() - 1);
  return histograms_.back();
}

void Registry::callback_gauge(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names, Sampler fn) {
  std::lock_guard lock(mutex_);
  for (auto& c : callbacks_)
    if (c.name == name) {
      c.fn = std::move(fn);
      return;
    }
  callbacks_.push_back({name, help, std::move(label_names), std::move(fn)});
  order_.emplace_back('f', callbacks_.size() - 1);
}

std::string Registry::exposition() const {
  std::lock_guard lock(mutex_);
  std::string out;
  auto head = [&](const std::string& name, const std::string& help, const char* type) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type);
  };
  for (auto [kind, i] : order_) {
    if (kind == 'c') {
      const auto& f = counters_[i];
      head(f.name(), f.help(), "counter");
      for (const auto& [labels, c] : f.children())
        out += fmt::format("{}{} {}\n", f.name(), label_text(f.label_names(), labels), c->value());
    } else if (kind == 'g') {
      const auto& f = gauges_[i];
      head(f.name(), f.help(), "gauge");
      for (const auto& [labels, g] : f.children())
        out += fmt::format("{}{} {}\n", f.name(), label_text(f.label_names(), labels),
                           number(g->value()));
    } else if (kind == 'h') {
      const auto& f = histograms_[i];
      head(f.name(), f.help(), "histogram");
      for (const auto& [labels, h] : f.children()) {
        auto counts = h->cumulative();
        for (std::size_t b = 0; b < counts.size(); ++b) {
          std::string le = b < h->bounds().size() ? number(h->bounds()[b]) : "+Inf";
          out += fmt::format("{}_bucket{} {}\n", f.name(),
                             label_text(f.label_names(), labels, "le=\"" + le + "\""), counts[b]);
        }
        out += fmt::format("{}_sum{} {}\n", f.name(), label_text(f.label_names(), labels),
                           number(h->sum()));
        out += fmt::format("{}_count{} {}\n", f.name(), label_text(f.label_names(), labels),
                           counts.back());
      }
    } else {
      const auto& c = callbacks_[i];
      head(c.name, c.help, "gauge");
      for (const auto& [labels, v] : c.fn())
        out += fmt::format("{}{} {}\n", c.name, label_text(c.label_names, labels), number(v));
    }
  }
  return out;
}

Registry& metrics() {
  static Registry registry;
  return registry;
}

std::vector<double> latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

}  // namespace mailroom::util
