// The configuration lookup order every command shares (issue 11: admin commands silently used
// ./mailroom-data, and only serve took -c).
#include "cli/config_lookup.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../queue/queue_test_support.hpp"

namespace mailroom::cli {
namespace {

TEST(ConfigLookup, FlagThenEnvironmentThenSystemFileThenEmbeddedDefaults) {
  testing::TempDir dir;
  const std::string system = dir.path() + "/mailroom.toml";
  auto none = locate_config(std::nullopt, nullptr, system);
  EXPECT_FALSE(none.path);
  EXPECT_EQ(none.origin, "embedded defaults");
  EXPECT_FALSE(locate_config(std::nullopt, "", system).path);  // an empty variable is unset

  std::ofstream(system) << "[server]\n";
  auto installed = locate_config(std::nullopt, nullptr, system);
  EXPECT_EQ(installed.path, system);
  EXPECT_EQ(installed.origin, system);

  auto env = locate_config(std::nullopt, "/srv/mail.toml", system);
  EXPECT_EQ(env.path, "/srv/mail.toml");
  EXPECT_EQ(env.origin, "MAILROOM_CONFIG");

  auto flag = locate_config(std::string("/x.toml"), "/srv/mail.toml", system);
  EXPECT_EQ(flag.path, "/x.toml");
  EXPECT_EQ(flag.origin, "--config");
}

TEST(ConfigLookup, DefaultsNoticeNamesTheAbsoluteDataDir) {
  auto cfg = config::default_config();
  auto notice = defaults_notice(cfg);
  EXPECT_NE(notice.find("embedded defaults"), std::string::npos) << notice;
  EXPECT_NE(notice.find((std::filesystem::current_path() / "mailroom-data").string()),
            std::string::npos)
      << notice;
  EXPECT_EQ(notice.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace mailroom::cli
