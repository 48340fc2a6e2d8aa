// The PostgreSQL URL as it may appear in an error message or a log line: never with its password.
#include <gtest/gtest.h>

#include "directory/pg_store.hpp"

namespace mailroom::directory {
namespace {

TEST(DirectoryPgUrl, RedactsThePasswordWhereverItIsGiven) {
  EXPECT_EQ(redact_pg_url("postgresql://mail:s3cret@db.example.test:5433/mailroom"),
            "postgresql://mail@db.example.test:5433/mailroom");
  EXPECT_EQ(redact_pg_url("postgresql://mail@127.0.0.1/mailroom?password=s3cret&sslmode=disable"),
            "postgresql://mail@127.0.0.1/mailroom");
  EXPECT_EQ(redact_pg_url("host=127.0.0.1 port=5432 user=mail password=s3cret dbname=mailroom"),
            "postgresql://mail@127.0.0.1:5432/mailroom");
}

TEST(DirectoryPgUrl, UnparsableUrlIsNotEchoed) {
  auto shown = redact_pg_url("postgresql://mail:s3cret@[::1/mailroom");
  EXPECT_EQ(shown.find("s3cret"), std::string::npos) << shown;
}

TEST(DirectoryPgUrl, UnreachableServerErrorNamesTheRedactedUrl) {
  try {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    open_pg_store("postgresql://mail:s3cret@127.0.0.1:1/mailroom");
    ADD_FAILURE() << "connected to nothing";
  } catch (const StoreError& e) {
    std::string what = e.what();
    EXPECT_EQ(what.rfind("directory database postgresql://mail@127.0.0.1:1/mailroom: ", 0), 0u)
        << what;
    EXPECT_EQ(what.find("s3cret"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace mailroom::directory
