// The directory's behaviour through its public API (DirectoryAdmin for changes, open_directory
// for lookups), run once against SQLite and once against a real PostgreSQL server.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "directory/admin.hpp"
#include "directory/cached_directory.hpp"
#include "directory/directory.hpp"
#include "pg_server.hpp"
#include "test_support.hpp"

namespace mailroom::directory {
namespace {

using testing::PgServer;
using testing::TempDir;
using Status = Resolution::Status;

struct SqliteBackend {
  static std::string prepare(config::Config&) { return ""; }
};

struct PostgresBackend {
  static std::string prepare(config::Config& cfg) {
    auto& server = PgServer::instance();
    switch (server.ensure_started()) {
      case PgServer::State::Missing:
        return server.error();
      case PgServer::State::Running:
        break;
      default:
        throw std::runtime_error("PostgreSQL test server: " + server.error());
    }
    server.reset_tables();
    cfg.directory.backend = "postgresql";
    cfg.directory.url = server.url();
    return "";
  }
};

template <typename Backend>
class DirectoryBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_ = testing::test_config(dir_);
    auto skip = Backend::prepare(cfg_);
    if (!skip.empty()) GTEST_SKIP() << skip;
    admin_ = std::make_unique<DirectoryAdmin>(DirectoryAdmin::open(cfg_));
  }

  // Expects `change` to be rejected with `kind` and to leave everything as it was.
  template <typename Change>
  void expect_rejected(AdminError::Kind kind, Change change) {
    auto users = admin_->users();
    auto aliases = admin_->aliases();
    auto domains = admin_->domains();
    try {
      change();
      ADD_FAILURE() << "change was accepted";
    } catch (const AdminError& e) {
      EXPECT_EQ(e.kind(), kind) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
    EXPECT_EQ(admin_->users(), users);
    EXPECT_EQ(admin_->domains(), domains);
    auto after = admin_->aliases();
    ASSERT_EQ(after.size(), aliases.size());
    for (std::size_t i = 0; i < after.size(); ++i) {
      EXPECT_EQ(after[i].source, aliases[i].source);
      EXPECT_EQ(after[i].targets, aliases[i].targets);
    }
  }

  TempDir dir_;
  config::Config cfg_;
  std::unique_ptr<DirectoryAdmin> admin_;
};

using Backends = ::testing::Types<SqliteBackend, PostgresBackend>;
class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, SqliteBackend> ? "Sqlite" : "Postgres";
  }
};
TYPED_TEST_SUITE(DirectoryBackendTest, Backends, BackendNames);

constexpr auto kBad = AdminError::Kind::BadInput;
constexpr auto kNotFound = AdminError::Kind::NotFound;
using Strings = std::vector<std::string>;

TYPED_TEST(DirectoryBackendTest, UsersAddListDelete) {
  this->admin_->add_user("Kate@Example.Test", "pw1");
  this->admin_->add_user("bob@example.test", "pw2");
  EXPECT_EQ(this->admin_->users(), (Strings{"kate@example.test", "bob@example.test"}));
  this->admin_->delete_user("KATE@example.test");
  EXPECT_EQ(this->admin_->users(), Strings{"bob@example.test"});
  this->expect_rejected(kNotFound, [&] { this->admin_->delete_user("kate@example.test"); });
}

TYPED_TEST(DirectoryBackendTest, DeletingAUserRemovesAliasTargetsThatNamedIt) {
  auto& admin = *this->admin_;
  admin.add_user("kate@example.test", "pw1");
  admin.add_user("bob@example.test", "pw2");
  admin.add_alias("sales@example.test", {"kate@example.test", "bob@example.test"});
  admin.add_alias("boss@example.test", {"kate@example.test"});
  admin.add_alias("ext@example.test", {"Kate@remote.test"});  // a forward of the same name stays
  auto removed = admin.delete_user("KATE@example.test");
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (Strings{"boss@example.test -> kate@example.test",
                              "sales@example.test -> kate@example.test"}));
  Strings left;
  for (const auto& a : admin.aliases())
    for (const auto& target : a.targets) left.push_back(a.source + " " + target);
  std::sort(left.begin(), left.end());
  // boss had only kate: it is gone, not left empty; sales keeps bob.
  EXPECT_EQ(left,
            (Strings{"ext@example.test Kate@remote.test", "sales@example.test bob@example.test"}));
}

TYPED_TEST(DirectoryBackendTest, BadUserChangesAreRejectedAndChangeNothing) {
  this->admin_->add_user("kate@example.test", "pw");
  auto& admin = *this->admin_;
  this->expect_rejected(kBad, [&] { admin.add_user("kate@example.test", "other"); });
  this->expect_rejected(kBad, [&] { admin.add_user("KATE@EXAMPLE.TEST", "other"); });
  this->expect_rejected(kBad, [&] { admin.add_user("bob@unknown.test", "pw"); });
  this->expect_rejected(kBad, [&] { admin.add_user("bob@example.test", ""); });
  this->expect_rejected(kBad, [&] { admin.add_user("bob example.test", "pw"); });
  this->expect_rejected(kBad, [&] { admin.add_user("a%b@example.test", "pw"); });
  this->expect_rejected(kBad, [&] { admin.set_password("kate@example.test", ""); });
  this->expect_rejected(kNotFound, [&] { admin.set_password("bob@example.test", "pw"); });
}

TYPED_TEST(DirectoryBackendTest, PasswordsVerifyAndChange) {
  this->admin_->add_user("kate@example.test", "correct horse");
  auto directory = open_directory(this->cfg_);
  EXPECT_TRUE(directory->verify_password("Kate@Example.Test", "correct horse"));
  EXPECT_FALSE(directory->verify_password("kate@example.test", "correct horsE"));
  EXPECT_FALSE(directory->verify_password("kate@example.test", ""));
  EXPECT_FALSE(directory->verify_password("nobody@example.test", "correct horse"));
  EXPECT_FALSE(directory->verify_password("not an address", "correct horse"));

  this->admin_->set_password("kate@example.test", "battery staple");
  auto reopened = open_directory(this->cfg_);
  EXPECT_TRUE(reopened->verify_password("kate@example.test", "battery staple"));
  EXPECT_FALSE(reopened->verify_password("kate@example.test", "correct horse"));
}

// The seeds' AUTH LOGIN sends a bare login name ("logon"): it names a mailbox in the first
// local domain, and only there.
TYPED_TEST(DirectoryBackendTest, BareLoginNameIsAMailboxInTheFirstDomain) {
  this->admin_->add_domain("other.test");
  this->admin_->add_user("logon@example.test", "My simple password");
  this->admin_->add_user("ann@other.test", "ann-pw");
  auto directory = open_directory(this->cfg_);
  EXPECT_TRUE(directory->verify_password("logon", "My simple password"));
  EXPECT_TRUE(directory->verify_password("LOGON", "My simple password"));
  EXPECT_FALSE(directory->verify_password("logon", "my simple password"));
  EXPECT_FALSE(directory->verify_password("ann", "ann-pw"));
  EXPECT_TRUE(directory->verify_password("ann@other.test", "ann-pw"));
  EXPECT_FALSE(directory->verify_password("", "My simple password"));
}

TYPED_TEST(DirectoryBackendTest, StoresOnlyHashes) {
  this->admin_->add_user("kate@example.test", "plaintext-password");
  auto store = open_store(this->cfg_);
  auto data = store->load();
  ASSERT_EQ(data.users.size(), 1u);
  EXPECT_EQ(data.users[0].password_hash.rfind("$argon2id$", 0), 0u);
  EXPECT_EQ(data.users[0].password_hash.find("plaintext-password"), std::string::npos);
}

TYPED_TEST(DirectoryBackendTest, AliasesAddListDelete) {
  auto& admin = *this->admin_;
  admin.add_user("kate@example.test", "pw");
  admin.add_user("bob@example.test", "pw");
  admin.add_alias("Sales@example.test", {"kate@example.test", "Ext@Remote.Test"});
  admin.add_alias("sales@example.test", {"BOB@example.test"});
  admin.add_alias("@example.test", {"kate@example.test"});
  auto aliases = admin.aliases();
  ASSERT_EQ(aliases.size(), 2u);
  EXPECT_EQ(aliases[0].source, "sales@example.test");
  EXPECT_EQ(aliases[0].targets,
            (Strings{"kate@example.test", "Ext@remote.test", "bob@example.test"}));
  EXPECT_EQ(aliases[1].source, "@example.test");

  // A forward's local part keeps its case (RFC 5321 2.4): "ext@" is another address.
  this->expect_rejected(kNotFound,
                        [&] { admin.delete_alias("sales@example.test", {"ext@remote.test"}); });
  admin.delete_alias("sales@example.test", {"bob@example.test"});
  EXPECT_EQ(admin.aliases()[0].targets, (Strings{"kate@example.test", "Ext@remote.test"}));
  admin.delete_alias("sales@example.test");
  EXPECT_EQ(admin.aliases().size(), 1u);
  this->expect_rejected(kNotFound, [&] { admin.delete_alias("sales@example.test"); });
}

TYPED_TEST(DirectoryBackendTest, BadAliasChangesAreRejectedAndChangeNothing) {
  auto& admin = *this->admin_;
  admin.add_user("kate@example.test", "pw");
  admin.add_alias("a@example.test", {"kate@example.test"});
  admin.add_alias("b@example.test", {"a@example.test"});
  this->expect_rejected(kBad, [&] { admin.add_alias("a@example.test", {"b@example.test"}); });
  this->expect_rejected(kBad, [&] { admin.add_alias("x@example.test", {"x@example.test"}); });
  this->expect_rejected(kBad, [&] { admin.add_alias("a@example.test", {"kate@example.test"}); });
  this->expect_rejected(kBad, [&] { admin.add_alias("kate@example.test", {"a@example.test"}); });
  this->expect_rejected(kBad, [&] { admin.add_alias("c@example.test", {"nobody@example.test"}); });
  this->expect_rejected(kBad, [&] { admin.add_alias("c@unknown.test", {"kate@example.test"}); });
  this->expect_rejected(kBad, [&] { admin.add_alias("c@example.test", {"not an address"}); });
  this->expect_rejected(kBad, [&] { admin.add_alias("c@example.test", {}); });
  this->expect_rejected(kBad, [&] { admin.add_alias("@example.test", {"nobody@example.test"}); });
  this->expect_rejected(kBad, [&] { admin.add_user("a@example.test", "pw"); });
  this->expect_rejected(kNotFound,
                        [&] { admin.delete_alias("a@example.test", {"bob@example.test"}); });
}

TYPED_TEST(DirectoryBackendTest, AliasFanoutLimitIsCheckedAtAddTime) {
  this->cfg_.directory.max_alias_fanout = 2;
  DirectoryAdmin admin = DirectoryAdmin::open(this->cfg_);
  admin.add_alias("list@example.test", {"a@remote.test", "b@remote.test"});
  this->expect_rejected(kBad, [&] { admin.add_alias("list@example.test", {"c@remote.test"}); });
}

TYPED_TEST(DirectoryBackendTest, DomainsJoinConfigDomains) {
  auto& admin = *this->admin_;
  admin.add_domain("Other.Test.");
  EXPECT_EQ(admin.domains(), (Strings{"example.test", "other.test"}));
  admin.add_user("kate@other.test", "pw");
  auto directory = open_directory(this->cfg_);
  EXPECT_TRUE(directory->is_local_domain("OTHER.test."));
  EXPECT_EQ(directory->local_domains(), (Strings{"example.test", "other.test"}));
  EXPECT_EQ(directory->resolve("kate@other.test").status, Status::Ok);

  this->expect_rejected(kBad, [&] { admin.add_domain("other.test"); });
  this->expect_rejected(kBad, [&] { admin.add_domain("example.test"); });
  this->expect_rejected(kBad, [&] { admin.add_domain("bad_domain"); });
  this->expect_rejected(kBad, [&] { admin.delete_domain("example.test"); });
  this->expect_rejected(kBad, [&] { admin.delete_domain("other.test"); });  // still has kate
  this->expect_rejected(kNotFound, [&] { admin.delete_domain("never.test"); });
  admin.delete_user("kate@other.test");
  admin.delete_domain("other.test");
  EXPECT_EQ(admin.domains(), Strings{"example.test"});
}

TYPED_TEST(DirectoryBackendTest, ResolvesThroughTheCache) {
  auto& admin = *this->admin_;
  admin.add_user("kate@example.test", "pw");
  admin.add_user("bob@example.test", "pw");
  admin.add_alias("team@example.test", {"kate@example.test", "bob@example.test"});
  admin.add_alias("@example.test", {"bob@example.test"});
  auto directory = open_directory(this->cfg_);
  auto team = directory->resolve("team@example.test");
  EXPECT_EQ(team.status, Status::Ok);
  EXPECT_EQ(team.mailboxes.size(), 2u);
  auto plus = directory->resolve("kate+work@example.test");
  ASSERT_EQ(plus.mailboxes.size(), 1u);
  EXPECT_EQ(plus.mailboxes[0].address(), "kate@example.test");
  EXPECT_EQ(plus.mailboxes[0].folder, "work");
  auto caught = directory->resolve("whoever@example.test");
  ASSERT_EQ(caught.mailboxes.size(), 1u);
  EXPECT_EQ(caught.mailboxes[0].address(), "bob@example.test");
  // The catch-all is an explicit rule for every other address, postmaster included.
  EXPECT_EQ(directory->resolve("postmaster@example.test").mailboxes[0].address(),
            "bob@example.test");
  EXPECT_EQ(directory->resolve("kate@remote.test").status, Status::NotLocal);
}

// A change made through another connection (as `mailroom user ...` in another process does)
// reaches a running directory without reopening it.
TYPED_TEST(DirectoryBackendTest, RunningDirectorySeesChangesFromAnotherConnection) {
  CachedDirectory directory(open_store(this->cfg_), this->cfg_, std::chrono::milliseconds(20));
  EXPECT_EQ(directory.resolve("kate@example.test").status, Status::UnknownUser);
  auto wait_for = [&](auto condition) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!condition() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return condition();
  };
  this->admin_->add_user("kate@example.test", "pw");
  EXPECT_TRUE(
      wait_for([&] { return directory.resolve("kate@example.test").status == Status::Ok; }));
  this->admin_->add_domain("new.test");
  EXPECT_TRUE(wait_for([&] { return directory.is_local_domain("new.test"); }));
  this->admin_->delete_user("kate@example.test");
  EXPECT_TRUE(wait_for(
      [&] { return directory.resolve("kate@example.test").status == Status::UnknownUser; }));
}

TYPED_TEST(DirectoryBackendTest, ConcurrentAdminsSerialise) {
  constexpr int kPerThread = 15;
  auto worker = [&](int id) {
    DirectoryAdmin admin = DirectoryAdmin::open(this->cfg_);
    for (int i = 0; i < kPerThread; ++i) {
      admin.add_alias("list@example.test", {fmt::format("t{}-{}@remote.test", id, i)});
    }
  };
  std::thread a(worker, 1), b(worker, 2);
  a.join();
  b.join();
  auto aliases = this->admin_->aliases();
  ASSERT_EQ(aliases.size(), 1u);
  EXPECT_EQ(aliases[0].targets.size(), 2u * kPerThread);
}

TYPED_TEST(DirectoryBackendTest, VerifyPasswordFromManyThreads) {
  this->admin_->add_user("kate@example.test", "pw");
  auto directory = open_directory(this->cfg_);
  std::vector<std::thread> threads;
  std::atomic<int> right{0}, wrong{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (directory->verify_password("kate@example.test", "pw")) ++right;
      if (!directory->verify_password("kate@example.test", "nope")) ++wrong;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(right, 4);
  EXPECT_EQ(wrong, 4);
}

}  // namespace
}  // namespace mailroom::directory
