#include "directory/resolver.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace mailroom::directory;
using Status = Resolution::Status;

namespace {

class ResolverTest : public ::testing::Test {
 protected:
  void user(const std::string& address) { data_.users.push_back({address, "hash"}); }
  void alias(const std::string& source, const std::vector<std::string>& targets) {
    for (const auto& t : targets) data_.aliases.push_back({source, t});
  }
  Resolution resolve(std::string_view address) {
    return resolve_address(Snapshot::build(data_, {"example.test", "Other.Test"}), address,
                           options_);
  }
  static std::vector<std::string> mailboxes(const Resolution& r) {
    std::vector<std::string> out;
    for (const auto& m : r.mailboxes)
      out.push_back(m.address() + (m.folder.empty() ? "" : "/" + m.folder));
    return out;
  }

  DirectoryData data_;
  ResolveOptions options_;
};

using Strings = std::vector<std::string>;

TEST_F(ResolverTest, UserMatchesCaseInsensitively) {
  user("kate@example.test");
  auto r = resolve("KATE@Example.TEST.");
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(mailboxes(r), Strings{"kate@example.test"});
  EXPECT_EQ(resolve("\"kate\"@example.test").status, Status::Ok);
}

TEST_F(ResolverTest, UnknownAndNotLocal) {
  user("kate@example.test");
  EXPECT_EQ(resolve("bob@example.test").status, Status::UnknownUser);
  EXPECT_EQ(resolve("kate@remote.test").status, Status::NotLocal);
  EXPECT_EQ(resolve("kate@[127.0.0.1]").status, Status::NotLocal);
  EXPECT_EQ(resolve("kate").status, Status::NotLocal);
}

TEST_F(ResolverTest, PlusAddressingSelectsFolder) {
  user("kate@example.test");
  auto r = resolve("Kate+News@example.test");
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(mailboxes(r), Strings{"kate@example.test/news"});
  // An unsafe tag still delivers, to the inbox.
  EXPECT_EQ(mailboxes(resolve("kate+a.b@example.test")), Strings{"kate@example.test"});
  EXPECT_EQ(mailboxes(resolve("kate+@example.test")), Strings{"kate@example.test"});
  EXPECT_EQ(resolve("+tag@example.test").status, Status::UnknownUser);
}

TEST_F(ResolverTest, FullAddressBeatsPlusAddressing) {
  user("kate@example.test");
  user("kate+list@example.test");
  EXPECT_EQ(mailboxes(resolve("kate+list@example.test")), Strings{"kate+list@example.test"});
}

TEST_F(ResolverTest, PlusAddressingCanBeDisabledOrUseAnotherDelimiter) {
  user("kate@example.test");
  options_.plus_addressing = false;
  EXPECT_EQ(resolve("kate+tag@example.test").status, Status::UnknownUser);
  options_.plus_addressing = true;
  options_.recipient_delimiter = '-';
  EXPECT_EQ(mailboxes(resolve("kate-tag@example.test")), Strings{"kate@example.test/tag"});
  EXPECT_EQ(resolve("kate+tag@example.test").status, Status::UnknownUser);
}

TEST_F(ResolverTest, AliasExpandsToUsersAliasesAndForwards) {
  user("kate@example.test");
  user("bob@other.test");
  alias("team@example.test", {"kate@example.test", "sales@example.test", "Ext.User@remote.test"});
  alias("sales@example.test", {"bob@other.test", "kate@example.test"});
  auto r = resolve("Team@example.test");
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(mailboxes(r), (Strings{"kate@example.test", "bob@other.test"}));
  EXPECT_EQ(r.forwards, Strings{"Ext.User@remote.test"});
}

TEST_F(ResolverTest, DiamondIsNotALoop) {
  user("d@example.test");
  alias("a@example.test", {"b@example.test", "c@example.test"});
  alias("b@example.test", {"d@example.test"});
  alias("c@example.test", {"d@example.test"});
  auto r = resolve("a@example.test");
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(mailboxes(r), Strings{"d@example.test"});
}

TEST_F(ResolverTest, LoopIsAnAliasError) {
  alias("a@example.test", {"b@example.test"});
  alias("b@example.test", {"a@example.test"});
  auto r = resolve("a@example.test");
  EXPECT_EQ(r.status, Status::AliasError);
  EXPECT_NE(r.error.find("loop"), std::string::npos) << r.error;
  EXPECT_TRUE(r.mailboxes.empty());
  alias("self@example.test", {"self@example.test"});
  EXPECT_EQ(resolve("self@example.test").status, Status::AliasError);
}

TEST_F(ResolverTest, DepthLimit) {
  user("end@example.test");
  for (int i = 0; i < 5; ++i)
    alias("l" + std::to_string(i) + "@example.test",
          {"l" + std::to_string(i + 1) + "@example.test"});
  alias("l5@example.test", {"end@example.test"});
  options_.max_alias_depth = 6;
  EXPECT_EQ(resolve("l0@example.test").status, Status::Ok);
  options_.max_alias_depth = 5;
  auto r = resolve("l0@example.test");
  EXPECT_EQ(r.status, Status::AliasError);
  EXPECT_NE(r.error.find("deeper than 5"), std::string::npos) << r.error;
}

TEST_F(ResolverTest, FanoutLimit) {
  std::vector<std::string> targets;
  for (int i = 0; i < 10; ++i) targets.push_back("u" + std::to_string(i) + "@remote.test");
  alias("list@example.test", targets);
  options_.max_alias_fanout = 10;
  EXPECT_EQ(resolve("list@example.test").forwards.size(), 10u);
  options_.max_alias_fanout = 9;
  EXPECT_EQ(resolve("list@example.test").status, Status::AliasError);
}

TEST_F(ResolverTest, CatchAllAppliesWhenNothingElseMatches) {
  user("kate@example.test");
  user("inbox@example.test");
  alias("@example.test", {"inbox@example.test"});
  EXPECT_EQ(mailboxes(resolve("kate@example.test")), Strings{"kate@example.test"});
  EXPECT_EQ(mailboxes(resolve("kate+x@example.test")), Strings{"kate@example.test/x"});
  EXPECT_EQ(mailboxes(resolve("anyone@example.test")), Strings{"inbox@example.test"});
  EXPECT_EQ(resolve("anyone@other.test").status, Status::UnknownUser);
}

TEST_F(ResolverTest, CatchAllNeverMatchesRelayTricks) {
  user("inbox@example.test");
  alias("@example.test", {"inbox@example.test"});
  for (const char* trick : {"\"bob@remote.test\"@example.test", "bob%remote.test@example.test",
                            "remote.test!bob@example.test", "a/b@example.test", "@example.test",
                            "\"a b\"@example.test"}) {
    EXPECT_EQ(resolve(trick).status, Status::UnknownUser) << trick;
  }
}

TEST_F(ResolverTest, CatchAllPointingBackIntoItselfIsALoop) {
  alias("@example.test", {"nobody@example.test"});
  EXPECT_EQ(resolve("x@example.test").status, Status::AliasError);
}

TEST_F(ResolverTest, DanglingTargetsAreSkipped) {
  user("kate@example.test");
  alias("list@example.test", {"gone@example.test", "kate@example.test"});
  alias("empty@example.test", {"gone@example.test"});
  EXPECT_EQ(mailboxes(resolve("list@example.test")), Strings{"kate@example.test"});
  EXPECT_EQ(resolve("empty@example.test").status, Status::UnknownUser);
}

TEST_F(ResolverTest, PostmasterWithoutUsersGoesToFirstDomain) {
  auto r = resolve("PostMaster@other.test");
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_EQ(mailboxes(r), Strings{"postmaster@example.test"});
  EXPECT_EQ(mailboxes(resolve("Postmaster")), Strings{"postmaster@example.test"});
}

// Issue 11: postmaster mail went silently to the oldest mailbox. Where it goes is the
// administrator's choice (an alias, a mailbox, a catch-all); without one it stays in the
// dedicated mailbox postmaster@<first local domain>, never in somebody's inbox.
TEST_F(ResolverTest, PostmasterNeverGoesToAUserByDefault) {
  user("bob@other.test");
  user("kate@example.test");
  EXPECT_EQ(mailboxes(resolve("postmaster@example.test")), Strings{"postmaster@example.test"});
  EXPECT_EQ(mailboxes(resolve("postmaster@other.test")), Strings{"postmaster@example.test"});
  EXPECT_EQ(mailboxes(resolve("Postmaster")), Strings{"postmaster@example.test"});
}

TEST_F(ResolverTest, PostmasterAliasOverridesDefault) {
  user("bob@other.test");
  user("kate@example.test");
  alias("postmaster@example.test", {"kate@example.test"});
  EXPECT_EQ(mailboxes(resolve("postmaster@example.test")), Strings{"kate@example.test"});
  // Another domain's postmaster without its own follows the first domain's.
  EXPECT_EQ(mailboxes(resolve("postmaster@other.test")), Strings{"kate@example.test"});
  alias("postmaster@other.test", {"bob@other.test"});
  EXPECT_EQ(mailboxes(resolve("postmaster@other.test")), Strings{"bob@other.test"});
}

TEST_F(ResolverTest, PostmasterMailboxAndCatchAllAreExplicitChoices) {
  user("kate@example.test");
  user("bob@other.test");
  user("postmaster@example.test");
  EXPECT_EQ(mailboxes(resolve("postmaster@example.test")), Strings{"postmaster@example.test"});
  // A catch-all is the administrator's rule for every other address of its domain, postmaster
  // included (as in Postfix's virtual_alias_maps).
  alias("@other.test", {"bob@other.test"});
  EXPECT_EQ(mailboxes(resolve("postmaster@other.test")), Strings{"bob@other.test"});
}

TEST_F(ResolverTest, ExpandAliasChecksAStoredSource) {
  user("kate@example.test");
  alias("@example.test", {"kate@example.test"});
  alias("a@example.test", {"b@example.test"});
  alias("b@example.test", {"a@example.test"});
  auto snapshot = Snapshot::build(data_, {"example.test"});
  EXPECT_EQ(expand_alias(snapshot, "@example.test", options_).status, Status::Ok);
  EXPECT_EQ(expand_alias(snapshot, "a@example.test", options_).status, Status::AliasError);
}

}  // namespace
