// config/table_reader: reads the typed keys of one TOML table, private to src/config/.
//
// Each read leaves the field alone when the key is absent (the embedded default stands) and
// throws ConfigError naming "<table>.<key>" when the value has the wrong type or range.
// Never: lets an unknown key through (reject_unknown_keys, called once all known keys were read,
// names the first one: usually a typo), or writes a field from a value it refused.
#pragma once

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace mailroom::config {

// Reads typed keys from one TOML table and remembers which keys were seen, so that an unknown
// key (usually a typo) is reported instead of silently ignored.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string path) : table_(table), path_(std::move(path)) {}

  std::string key_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
  }

  [[noreturn]] void fail(std::string_view key, std::string_view why) const {
    throw ConfigError(fmt::format("{}: {}", key_path(key), why));
  }

  void read(std::string_view key, std::string& out) {
    if (auto* node = find(key)) {
      auto v = node->value<std::string>();
      if (!v) fail(key, "must be a string");
      out = *v;
    }
  }

  void read(std::string_view key, bool& out) {
    if (auto* node = find(key)) {
      auto v = node->value<bool>();
      if (!v || !node->is_boolean()) fail(key, "must be true or false");
      out = *v;
    }
  }

  template <typename Int>
  void read_uint(std::string_view key, Int& out, std::uint64_t min, std::uint64_t max) {
    if (auto* node = find(key)) {
      if (!node->is_integer()) fail(key, "must be an integer");
      auto v = node->value<std::int64_t>().value();
      if (v < 0 || static_cast<std::uint64_t>(v) < min || static_cast<std::uint64_t>(v) > max)
        fail(key, fmt::format("must be between {} and {}", min, max));
      out = static_cast<Int>(v);
    }
  }

  void read(std::string_view key, std::vector<std::string>& out) {
    if (auto* node = find(key)) {
      auto* arr = node->as_array();
      if (!arr) fail(key, "must be an array of strings");
      out.clear();
      for (auto& el : *arr) {
        auto v = el.value<std::string>();
        if (!v || !el.is_string()) fail(key, "must be an array of strings");
        out.push_back(*v);
      }
    }
  }

  template <typename Enum>
  void read_enum(std::string_view key, Enum& out,
                 std::initializer_list<std::pair<const char*, Enum>> choices) {
    std::string text;
    if (!find(key)) return;
    read(key, text);
    std::string names;
    for (auto& [name, value] : choices) {
      if (text == name) {
        out = value;
        return;
      }
      names += names.empty() ? fmt::format("\"{}\"", name) : fmt::format(" | \"{}\"", name);
    }
    fail(key, fmt::format("must be one of {} (got \"{}\")", names, text));
  }

  // Marks a key as known whose value the caller reads itself (a sub-table).
  void read_table(std::string_view key) { find(key); }

  // Called once all known keys were read.
  void reject_unknown_keys() const {
    for (auto& [k, v] : table_) {
      if (!seen_.count(std::string(k.str()))) fail(k.str(), "unknown key");
    }
  }

 private:
  const toml::node* find(std::string_view key) {
    seen_.insert(std::string(key));
    return table_.get(key);
  }

  const toml::table& table_;
  std::string path_;
  std::set<std::string> seen_;
};

}  // namespace mailroom::config
