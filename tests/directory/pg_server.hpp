// A private PostgreSQL 15 server for the PostgreSQL backend tests: its own data directory under
// /tmp, listening on 127.0.0.1 and a free port, unix socket in that directory, trust auth. Started
// on first use (so test runs that filter PostgreSQL tests out never pay for it), stopped by a
// gtest Environment when the test binary finishes. Runs as the `postgres` user when we are root
// (initdb refuses root). Tests skip only when the PostgreSQL binaries are not installed.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace mailroom::directory::testing {

inline constexpr const char* kPgBinDir = "/usr/lib/postgresql/15/bin";

class PgServer {
 public:
  enum class State { NotStarted, Running, Missing, Failed };

  static PgServer& instance() {
    static PgServer server;
    return server;
  }

  // Starts the server if needed. Returns Running, Missing (skip) or Failed (see error()).
  State ensure_started() {
    if (state_ == State::NotStarted) start();
    return state_;
  }
  const std::string& error() const { return error_; }
  std::string url() const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/postgres";
  }

  // Drops the directory's tables so each test starts from an empty database.
  void reset_tables() {
    PGconn* conn = PQconnectdb(url().c_str());
    PGresult* r = PQexec(conn,
                         "SET client_min_messages = warning; DROP TABLE IF EXISTS mailroom_meta, "
                         "mailroom_domains, mailroom_users, mailroom_aliases");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    std::string why = PQerrorMessage(conn);
    PQclear(r);
    PQfinish(conn);
    if (!ok) throw std::runtime_error("resetting PostgreSQL tables failed: " + why);
  }

  void stop() {
    if (state_ != State::Running) return;
    run(as_postgres(bin("pg_ctl") + " -D " + data_dir() + " -m immediate -w stop >/dev/null 2>&1"));
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
    state_ = State::NotStarted;
  }

 private:
  PgServer() = default;
  ~PgServer() { stop(); }

  static std::string bin(const char* name) {
    std::string path = kPgBinDir;
    path.append("/").append(name);
    return path;
  }
  std::string data_dir() const { return root_ + "/data"; }
  static bool is_root() { return geteuid() == 0; }
  static std::string as_postgres(const std::string& command) {
    return is_root() ? "runuser -u postgres -- " + command : command;
  }
  static int run(const std::string& command) { return std::system(command.c_str()); }

  static int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    return ntohs(addr.sin_port);
  }

  // initdb's output is redirected by our (root) shell; the server log is opened by pg_ctl as
  // postgres, so they must be different files.
  std::string log_tail(const char* name) const {
    std::ifstream in(root_ + "/" + name);
    std::stringstream s;
    s << in.rdbuf();
    auto text = s.str();
    return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
  }

  void start() {
    if (!std::filesystem::exists(bin("initdb")) || !std::filesystem::exists(bin("pg_ctl"))) {
      state_ = State::Missing;
      error_ = std::string("PostgreSQL 15 binaries not found in ") + kPgBinDir +
               " (install Debian package postgresql)";
      return;
    }
    char pattern[] = "/tmp/mailroom-pg-XXXXXX";
    if (!mkdtemp(pattern)) return fail("mkdtemp failed");
    root_ = pattern;
    if (is_root()) {
      passwd* pw = getpwnam("postgres");
      if (!pw) return fail("user postgres does not exist");
      if (chown(root_.c_str(), pw->pw_uid, pw->pw_gid) != 0) return fail("chown failed");
    }
    if (run(as_postgres(bin("initdb") + " -D " + data_dir() +
                        " -A trust -U postgres -E UTF8 --locale=C --no-sync >" + root_ +
                        "/initdb.log 2>&1")) != 0)
      return fail("initdb failed: " + log_tail("initdb.log"));
    port_ = free_port();
    std::string options = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " +
                          root_ + " -c fsync=off -c synchronous_commit=off";
    if (run(as_postgres(bin("pg_ctl") + " -D " + data_dir() + " -l " + root_ +
                        "/server.log -w -t 30 -o '" + options + "' start >/dev/null 2>&1")) != 0)
      return fail("pg_ctl start failed: " + log_tail("server.log"));
    state_ = State::Running;
  }

  void fail(const std::string& why) {
    state_ = State::Failed;
    error_ = why;
  }

  State state_ = State::NotStarted;
  std::string error_;
  std::string root_;
  int port_ = 0;
};

class PgServerEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { PgServer::instance().stop(); }
};

// One registration per test binary, whichever test files include this header.
inline ::testing::Environment* const kPgServerEnvironment =
    ::testing::AddGlobalTestEnvironment(new PgServerEnvironment);

}  // namespace mailroom::directory::testing
