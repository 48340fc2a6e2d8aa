// SpareFiles: delivered queue files are reused, never over an existing file, never more than the
// limit; the group commit's use of them (nothing of an earlier message survives into the next) is
// tested in delivery_schedule_test.cpp.
#include "queue/spare_files.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "queue_test_support.hpp"

namespace mailroom::queue {
namespace {

using testing::list_dir;
using testing::read_file;
using testing::TempDir;

struct Dirs {
  TempDir tmp;
  spool::QueuePaths paths{tmp.path() + "/queue"};
  Dirs() { EXPECT_FALSE(spool::ensure_queue_dirs(paths)); }
  std::string committed(const std::string& id, const std::string& content) {
    auto path = paths.message_file(id);
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
};

ino_t inode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

TEST(SpareFiles, DeliveredFileIsEmptiedAndReusedForTheNextMessage) {
  Dirs d;
  SpareFiles spares(d.paths, 8);
  auto old_path = d.committed("a", "old message body");
  auto old_inode = inode_of(old_path);
  spares.recycle(old_path);
  EXPECT_FALSE(std::filesystem::exists(old_path));
  ASSERT_EQ(spares.size(), 1u);
  ASSERT_EQ(list_dir(d.paths.spare_dir()).size(), 1u);

  // The taker writes over the old bytes from offset 0 and cuts the file to its own length.
  auto target = d.paths.incoming_file("b");
  int fd = spares.take(target);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "new", 3), 3);
  ASSERT_EQ(::ftruncate(fd, 3), 0);
  ::close(fd);
  EXPECT_EQ(read_file(target), "new");
  EXPECT_EQ(inode_of(target), old_inode);  // the point: no inode freed, none allocated
  EXPECT_TRUE(list_dir(d.paths.spare_dir()).empty());
  EXPECT_EQ(spares.take(d.paths.incoming_file("c")), -1);  // none left
}

TEST(SpareFiles, NeverMoreThanTheLimitTheRestIsUnlinked) {
  Dirs d;
  SpareFiles spares(d.paths, 2);
  for (auto id : {"a", "b", "c"}) spares.recycle(d.committed(id, "x"));
  EXPECT_EQ(spares.size(), 2u);
  EXPECT_EQ(list_dir(d.paths.spare_dir()).size(), 2u);
  EXPECT_TRUE(list_dir(d.paths.messages_dir()).empty());
}

TEST(SpareFiles, NeverTakenOverAnExistingFile) {
  Dirs d;
  SpareFiles spares(d.paths, 8);
  spares.recycle(d.committed("a", "x"));
  auto target = d.paths.incoming_file("b");
  std::ofstream(target) << "someone else's";
  EXPECT_EQ(spares.take(target), -1);
  EXPECT_EQ(read_file(target), "someone else's");
  EXPECT_EQ(spares.size(), 1u);  // the spare is kept for the next message
}

TEST(SpareFiles, LeftoversOfAnEarlierRunAreRemovedAtStart) {
  Dirs d;
  std::ofstream(d.paths.spare_dir() + "/7") << "not emptied before a crash";
  SpareFiles spares(d.paths, 8);
  EXPECT_TRUE(list_dir(d.paths.spare_dir()).empty());
  EXPECT_EQ(spares.size(), 0u);
}

TEST(SpareFiles, AFileAlreadyGoneIsNotAnError) {
  Dirs d;
  SpareFiles spares(d.paths, 8);
  spares.recycle(d.paths.message_file("never-existed"));
  EXPECT_EQ(spares.size(), 0u);
}

}  // namespace
}  // namespace mailroom::queue
