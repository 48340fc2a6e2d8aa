// Opening the SQLite directory must fail loudly — one line naming the database — when the file
// is corrupt, foreign or locked by another process, and never fall back to an empty directory
// (issue 3: "a corrupt or locked database at server start: a clear error and exit").
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <string>

#include "directory/admin.hpp"
#include "directory/directory.hpp"
#include "directory/store.hpp"
#include "test_support.hpp"

namespace mailroom::directory {
namespace {

using testing::TempDir;

std::string open_error(const config::Config& cfg) {
  try {
    open_directory(cfg);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(DirectorySqliteOpen, CorruptFileIsAnErrorNamingTheDatabase) {
  TempDir dir;
  auto cfg = testing::test_config(dir);
  DirectoryAdmin::open(cfg).add_user("kate@example.test", "pw");
  {
    // Overwrite the header and first page: what a disk error or a stray write leaves behind.
    std::fstream f(cfg.directory_db_path(), std::ios::in | std::ios::out | std::ios::binary);
    std::string junk(4096, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto why = open_error(cfg);
  EXPECT_NE(why.find(cfg.directory_db_path()), std::string::npos) << why;
  EXPECT_NE(why.find("not a database"), std::string::npos) << why;
  EXPECT_EQ(why.find('\n'), std::string::npos) << why;
}

TEST(DirectorySqliteOpen, ForeignFileIsAnError) {
  TempDir dir;
  auto cfg = testing::test_config(dir);
  std::filesystem::create_directories(cfg.server.data_dir);
  std::ofstream(cfg.directory_db_path()) << "this is a text file, not a directory database\n";
  auto why = open_error(cfg);
  EXPECT_NE(why.find(cfg.directory_db_path()), std::string::npos) << why;
  EXPECT_NE(why.find("not a database"), std::string::npos) << why;
}

TEST(DirectorySqliteOpen, SchemaFromANewerMailroomIsAnError) {
  TempDir dir;
  auto cfg = testing::test_config(dir);
  DirectoryAdmin::open(cfg).add_user("kate@example.test", "pw");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(cfg.directory_db_path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE mailroom_meta SET value = 99 WHERE name = 'schema_version'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto why = open_error(cfg);
  EXPECT_NE(why.find("schema version 99 is newer"), std::string::npos) << why;
}

TEST(DirectorySqliteOpen, LockedDatabaseIsAnErrorNotAnEmptyDirectory) {
  TempDir dir;
  auto cfg = testing::test_config(dir);
  DirectoryAdmin::open(cfg).add_user("kate@example.test", "pw");
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open(cfg.directory_db_path().c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto why = open_error(cfg);
  sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(holder);
  EXPECT_NE(why.find(cfg.directory_db_path()), std::string::npos) << why;
  EXPECT_NE(why.find("locked"), std::string::npos) << why;
  // Once the other process lets go, the same database opens with its contents.
  EXPECT_EQ(open_directory(cfg)->resolve("kate@example.test").status, Resolution::Status::Ok);
}

}  // namespace
}  // namespace mailroom::directory
