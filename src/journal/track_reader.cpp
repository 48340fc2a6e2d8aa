#include "journal/track_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <set>

#include "util/ascii.hpp"
#include "util/posix_file.hpp"

namespace mailroom::journal {

namespace fs = std::filesystem;

namespace {

struct LogFile {
  std::string path;
  bool has_index = false;
  std::int64_t last_unix = 0;
  bool index_loaded = false;
  std::string index;  // "\n"-separated keys, with a leading "\n"
};

bool read_whole(const std::string& path, std::string& out) {
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return false;
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < out.size()) {
    auto n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return true;
}

std::vector<LogFile> list_files(const std::string& dir) {
  std::vector<LogFile> files;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.rfind("tracking-", 0) != 0 || name.size() < 6 ||
        name.compare(name.size() - 6, 6, ".jsonl") != 0)
      continue;
    LogFile f;
    f.path = it->path().string();
    files.push_back(std::move(f));
  }
  std::sort(files.begin(), files.end(), [](auto& a, auto& b) { return a.path < b.path; });
  return files;
}

// Reads the sidecar index's first line, "#first=N last=N"; its keys only when asked for
// (index_has), so files that end before a message arrived cost one small read. A damaged index
// counts as none: the file is read whole.
void load_index_header(LogFile& f) {
  util::UniqueFd fd(::open((f.path + ".idx").c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return;
  char buf[128];
  auto n = ::read(fd.get(), buf, sizeof buf);
  if (n <= 0) return;
  std::string_view head(buf, static_cast<std::size_t>(n));
  auto nl = head.find('\n');
  auto last = head.find(" last=");
  if (head.rfind("#first=", 0) != 0 || nl == std::string_view::npos ||
      last == std::string_view::npos || last > nl)
    return;
  std::int64_t v = 0;
  auto [p, err] = std::from_chars(head.data() + last + 6, head.data() + nl, v);
  if (err != std::errc() || p != head.data() + nl) return;
  f.last_unix = v;
  f.has_index = true;
}

bool index_has(LogFile& f, const std::string& key) {
  if (!f.index_loaded) {
    f.index_loaded = true;
    std::string text;
    if (read_whole(f.path + ".idx", text)) {
      auto nl = text.find('\n');
      if (nl != std::string::npos) f.index = text.substr(nl);  // every key is "\n<key>\n"
    }
  }
  const std::string needle = "\n" + key + "\n";
  return f.index.find(needle) != std::string::npos;
}

// The queue id of a line, found without parsing it: the writer's JSON has sorted keys, so "id"
// always follows another key (never inside "dsn_id", which does not start with a comma).
std::string_view line_id(std::string_view line) {
  static constexpr std::string_view kKey = ",\"id\":\"";
  auto at = line.find(kKey);
  if (at == std::string_view::npos) {
    if (line.rfind("{\"id\":\"", 0) != 0) return {};
    at = 0;
  }
  auto start = at + kKey.size() - (at == 0 ? 1 : 0);
  auto end = line.find('"', start);
  if (end == std::string_view::npos) return {};
  return line.substr(start, end - start);
}

template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    if (!line.empty()) fn(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

std::string strip_angle(std::string_view s) {
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
  return std::string(s);
}

bool matches_receive(const TrackingEvent& e, const TrackQuery& q) {
  if (e.event != "RECEIVE") return false;
  if (!q.id.empty() && e.id != q.id) return false;
  if (!q.message_id.empty() && strip_angle(e.message_id) != strip_angle(q.message_id)) return false;
  if (!q.from.empty() && !util::iequals(e.sender, q.from)) return false;
  if (!q.to.empty()) {
    bool any = false;
    for (auto& r : e.recipients) any = any || util::iequals(r, q.to);
    if (!any) return false;
  }
  return true;
}

bool icontains(std::string_view hay, std::string_view needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
           return util::ascii_lower(a) == util::ascii_lower(b);
         }) != hay.end();
}

// Text that JSON writes as it is (no escape), so a raw substring test can rule a line out.
bool json_plain(std::string_view s) {
  for (unsigned char c : s)
    if (c == '"' || c == '\\' || c < 0x20) return false;
  return true;
}

// Whether a RECEIVE line can match the filters at all, without parsing it (most cannot).
bool might_match(std::string_view line, const TrackQuery& q) {
  const auto mid = strip_angle(q.message_id);
  if (!mid.empty() && json_plain(mid) && line.find(mid) == std::string_view::npos) return false;
  if (!q.from.empty() && json_plain(q.from) && !icontains(line, q.from)) return false;
  if (!q.to.empty() && json_plain(q.to) && !icontains(line, q.to)) return false;
  return true;
}

}  // namespace

bool looks_like_object(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  return line.size() >= 2 && line.front() == '{' && line.back() == '}';
}

TrackResult track(const std::string& directory, const TrackQuery& q) {
  TrackResult result;
  auto files = list_files(directory);
  for (auto& f : files) load_index_header(f);
  const bool by_id_only = !q.id.empty() && q.message_id.empty() && q.from.empty() && q.to.empty();
  std::set<std::string> ids;
  std::set<std::string> counted_damaged;  // files whose damaged lines were counted already
  std::string text;

  // Pass 1 (filters other than the id): which messages match, from their RECEIVE events.
  if (by_id_only) {
    ids.insert(q.id);
  } else {
    for (auto& f : files) {
      if (f.has_index && q.since_unix && f.last_unix < q.since_unix) {
        result.files_skipped++;
        continue;
      }
      if (!read_whole(f.path, text)) continue;
      result.files_read++;
      result.bytes_read += text.size();
      counted_damaged.insert(f.path);
      for_each_line(text, [&](std::string_view line) {
        if (!looks_like_object(line)) {
          result.damaged_lines++;
          return;
        }
        if (line.find("\"RECEIVE\"") == std::string_view::npos || !might_match(line, q)) return;
        auto e = parse_tracking_line(line);
        if (!e) {
          result.damaged_lines++;
          return;
        }
        if (matches_receive(*e, q) && (q.since.empty() || e->time_text >= q.since))
          ids.insert(e->id);
      });
    }
  }

  // Pass 2: every event of those messages, then of the DSNs they caused (one level).
  std::set<std::string> done;
  for (int round = 0; round < 2 && !ids.empty(); ++round) {
    std::set<std::string, std::less<>> wanted;  // looked up by string_view
    for (auto& id : ids)
      if (!done.count(id)) wanted.insert(id);
    if (wanted.empty()) break;
    done.insert(wanted.begin(), wanted.end());
    std::set<std::string> found_dsns;
    const std::int64_t not_before = (round == 0 && by_id_only) ? q.id_time_unix : 0;
    for (auto& f : files) {
      if (f.has_index) {
        bool any = false;
        if (f.last_unix + 1 >= not_before)
          for (auto& id : wanted) any = any || index_has(f, id);
        if (!any) {
          result.files_skipped++;
          continue;
        }
      }
      if (!read_whole(f.path, text)) continue;
      result.files_read++;
      result.bytes_read += text.size();
      const bool count_damage = counted_damaged.insert(f.path).second;
      for_each_line(text, [&](std::string_view line) {
        const bool shaped = looks_like_object(line);
        if (!shaped && count_damage) result.damaged_lines++;
        const auto id = line_id(line);
        if (id.empty() || wanted.find(id) == wanted.end()) {
          // Not one of ours, as far as a glance tells; a shaped line without a readable id is
          // damaged only if it does not parse (a hand-written line with other key order).
          if (!shaped || !id.empty() || line.find("\"id\"") == std::string_view::npos) return;
        }
        auto e = shaped ? parse_tracking_line(line) : std::nullopt;
        if (!e) {
          if (shaped && count_damage) result.damaged_lines++;
          return;
        }
        if (!wanted.count(e->id)) return;
        if (!q.since.empty() && e->time_text < q.since) return;
        if (!e->dsn_id.empty()) found_dsns.insert(e->dsn_id);
        result.events.push_back(std::move(*e));
      });
    }
    ids = std::move(found_dsns);
  }
  // By time; within one millisecond a RECEIVE comes first (it is stamped before the commit,
  // and whatever follows it could not have happened earlier).
  std::stable_sort(result.events.begin(), result.events.end(), [](const auto& a, const auto& b) {
    if (a.time_text != b.time_text) return a.time_text < b.time_text;
    return a.event == "RECEIVE" && b.event != "RECEIVE";
  });
  return result;
}

}  // namespace mailroom::journal
