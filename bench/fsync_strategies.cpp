// bench/fsync_strategies: how long it takes to make a batch of new files durable, three ways.
//
// The evidence behind the choice in src/util/sync_pool.hpp (see bench/ANALYSIS.md). For batches
// of 1, 4, 8 and 16 new 4 KB files, each created in in/ and renamed into out/ as the group
// commit does, it times (median of 40 batches):
//   serial    fdatasync each file, one after another, then fsync out/
//   threads   one thread per file (and one for out/), all syncing at the same moment
//   sfr       sync_file_range(SYNC_FILE_RANGE_WRITE) on every file first, then serial
// Only the sync phase is timed, on an otherwise idle disk: it says nothing about syncs that
// compete with other I/O (the server's deliveries), which is where the strategies differ most.
//
// Build and run (as any user who may write DIR; DIR should be on the file system to measure):
//   g++ -O2 -std=c++20 bench/fsync_strategies.cpp -o /tmp/fsync_strategies -pthread
//   /tmp/fsync_strategies DIR
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Batch {
  std::string dir;
  std::vector<int> fds;
  int dir_fd = -1;

  Batch(const std::string& root, int n) : dir(root) {
    static char block[4096];
    for (int i = 0; i < n; ++i) {
      auto in = dir + "/in/f" + std::to_string(i);
      int fd = ::open(in.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd < 0 || ::write(fd, block, sizeof block) != static_cast<ssize_t>(sizeof block)) {
        std::perror("create");
        std::exit(1);
      }
      ::rename(in.c_str(), (dir + "/out/f" + std::to_string(i)).c_str());
      fds.push_back(fd);
    }
    dir_fd = ::open((dir + "/out").c_str(), O_RDONLY | O_DIRECTORY);
  }
  ~Batch() {
    for (std::size_t i = 0; i < fds.size(); ++i) {
      ::close(fds[i]);
      ::unlink((dir + "/out/f" + std::to_string(i)).c_str());
    }
    ::close(dir_fd);
  }
};

void serial(Batch& b) {
  for (int fd : b.fds) ::fdatasync(fd);
  ::fsync(b.dir_fd);
}

void threads(Batch& b) {
  std::vector<std::thread> t;
  for (int fd : b.fds) t.emplace_back([fd] { ::fdatasync(fd); });
  t.emplace_back([&b] { ::fsync(b.dir_fd); });
  for (auto& x : t) x.join();
}

void sfr_then_serial(Batch& b) {
  for (int fd : b.fds) ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  serial(b);
}

double median_ms(const std::string& root, int n, const std::function<void(Batch&)>& strategy) {
  std::vector<double> ms;
  for (int rep = 0; rep < 40; ++rep) {
    Batch b(root, n);
    auto start = Clock::now();
    strategy(b);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  std::string root = std::string(argv[1]) + "/fsync-strategies";
  ::mkdir(root.c_str(), 0700);
  ::mkdir((root + "/in").c_str(), 0700);
  ::mkdir((root + "/out").c_str(), 0700);
  std::printf("%6s %10s %10s %10s   (ms per batch, median of 40)\n", "files", "serial", "threads",
              "sfr");
  for (int n : {1, 4, 8, 16})
    std::printf("%6d %10.2f %10.2f %10.2f\n", n, median_ms(root, n, serial),
                median_ms(root, n, threads), median_ms(root, n, sfr_then_serial));
  ::rmdir((root + "/in").c_str());
  ::rmdir((root + "/out").c_str());
  ::rmdir(root.c_str());
  return 0;
}
