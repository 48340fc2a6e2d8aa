// `mailroom user|alias|domain`: the directory's admin commands (see directory/admin.hpp).
//
// Postfix-style: silent on success, lists one entry per line, one "mailroom: ..." line on
// stderr otherwise. Exit 0 ok, 1 not found or the database failed, 2 bad input or usage; a
// rejected change leaves the database unchanged. Passwords come from the terminal (echo off,
// asked twice) or, with --password-stdin, from stdin's first line, and are never printed.
// The configuration is found as config_lookup.hpp says; only `add` creates the data dir and the
// SQLite database: other commands on a database that does not exist say so (exit 1).
#include <fmt/format.h>
#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.hpp"
#include "cli/config_lookup.hpp"
#include "config/config.hpp"
#include "directory/address.hpp"
#include "directory/admin.hpp"
#include "directory/snapshot.hpp"

namespace mailroom::cli {
namespace {

using directory::AdminError;
using directory::DirectoryAdmin;

[[noreturn]] void fail(int code, const std::string& message) {
  std::cerr << "mailroom: " << message << "\n";
  throw CLI::RuntimeError(code);
}

// Keeps a password out of freed heap memory once we are done with it.
struct Password {
  std::string text;
  ~Password() { sodium_memzero(text.data(), text.size()); }
};

void read_line(std::istream& in, std::string& out) {
  std::getline(in, out);
  if (!out.empty() && out.back() == '\r') out.pop_back();
}

void read_hidden(const char* prompt, std::string& out) {
  termios saved{};
  tcgetattr(STDIN_FILENO, &saved);
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  // Echo goes off before the prompt appears: whatever is typed once it is visible stays hidden.
  // TCSANOW, not TCSAFLUSH: a password typed ahead is read, not discarded.
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::cerr << prompt << std::flush;
  read_line(std::cin, out);
  tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  std::cerr << "\n";
}

// Checked before anything is opened or created. Never read a pipe unasked: a script that forgot
// --password-stdin would store whatever came first.
void require_password_source(bool from_stdin) {
  if (!from_stdin && !isatty(STDIN_FILENO))
    fail(2,
         "stdin is not a terminal to ask for the password on: give it on stdin's first line "
         "with --password-stdin");
}

void read_password(bool from_stdin, Password& password) {
  if (from_stdin) {
    read_line(std::cin, password.text);
    if (password.text.empty())
      fail(2, "empty password (--password-stdin reads it from the first line of stdin)");
    return;
  }
  Password again;
  read_hidden("Password: ", password.text);
  read_hidden("Retype password: ", again.text);
  if (password.text != again.text) fail(2, "passwords do not match");
  if (password.text.empty()) fail(2, "empty password");
}

struct Invocation {
  std::optional<std::string> config_path;
};

enum class Access { Reads, Creates };

std::string absolute(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

// Loads the config, opens the directory and runs `action`, mapping failures to exit codes. A
// command that only reads or changes what exists never creates an SQLite database: without one
// it runs `without_database` when given, else it says so (exit 1).
void run(const Invocation& inv, const std::function<void(DirectoryAdmin&)>& action,
         Access access = Access::Reads,
         const std::function<void(const config::Config&)>& without_database = {}) {
  const config::Config cfg = load_command_config(inv.config_path).config;
  try {
    if (cfg.directory.backend == "sqlite") {
      if (access == Access::Creates) {
        std::filesystem::create_directories(cfg.server.data_dir);
      } else if (!std::filesystem::exists(cfg.directory_db_path())) {
        if (without_database) return without_database(cfg);
        fail(1, fmt::format("{} does not exist: nothing has been added to this directory yet",
                            absolute(cfg.directory_db_path())));
      }
    }
    auto admin = DirectoryAdmin::open(cfg);
    action(admin);
  } catch (const AdminError& e) {
    fail(e.kind() == AdminError::Kind::NotFound ? 1 : 2, e.what());
  } catch (const CLI::RuntimeError&) {
    throw;
  } catch (const std::exception& e) {
    fail(1, e.what());
  }
}

CLI::App* leaf(CLI::App* parent, const char* name, const char* description,
               const std::shared_ptr<Invocation>& inv) {
  auto* cmd = parent->add_subcommand(name, description);
  cmd->add_option("-c,--config", inv->config_path,
                  "TOML config file (default: $MAILROOM_CONFIG, else "
                  "/etc/mailroom/mailroom.toml, else the embedded defaults)");
  return cmd;
}

void add_user_commands(CLI::App& app) {
  auto* user = app.add_subcommand("user", "Mailboxes: add, del, passwd, list");
  user->require_subcommand(1);
  auto inv = std::make_shared<Invocation>();
  auto address = std::make_shared<std::string>();
  auto from_stdin = std::make_shared<bool>(false);

  auto with_password = [&](const char* name, const char* description, bool adding) {
    auto* cmd = leaf(user, name, description, inv);
    cmd->add_option("address", *address, "local@domain")->required();
    cmd->add_flag("--password-stdin", *from_stdin, "Read the password from stdin's first line");
    cmd->callback([inv, address, from_stdin, adding] {
      // Syntax first, so nobody types a password for an address that cannot be stored.
      if (!directory::parse_mailbox_address(*address))
        fail(2, fmt::format("invalid address \"{}\"", *address));
      require_password_source(*from_stdin);
      run(
          *inv,
          [&](DirectoryAdmin& admin) {
            Password password;
            read_password(*from_stdin, password);
            if (adding) {
              admin.add_user(*address, password.text);
            } else {
              admin.set_password(*address, password.text);
            }
          },
          adding ? Access::Creates : Access::Reads);
    });
  };
  with_password("add", "Create a mailbox", true);
  with_password("passwd", "Change a mailbox's password", false);

  auto* del = leaf(user, "del", "Delete a mailbox (its stored mail stays)", inv);
  del->add_option("address", *address, "local@domain")->required();
  del->callback([inv, address] {
    run(*inv, [&](DirectoryAdmin& admin) {
      for (const auto& line : admin.delete_user(*address))
        std::cout << "removed alias target " << line << "\n";
    });
  });

  auto* list = leaf(user, "list", "List mailboxes, oldest first", inv);
  list->callback([inv] {
    run(*inv, [](DirectoryAdmin& admin) {
      for (const auto& u : admin.users()) std::cout << u << "\n";
    });
  });
}

void add_alias_commands(CLI::App& app) {
  auto* alias = app.add_subcommand("alias", "Aliases and catch-alls: add, del, list");
  alias->require_subcommand(1);
  auto inv = std::make_shared<Invocation>();
  auto source = std::make_shared<std::string>();
  auto targets = std::make_shared<std::vector<std::string>>();

  auto* add =
      leaf(alias, "add", "Add targets to an alias (list@domain, or @domain: catch-all)", inv);
  add->add_option("alias", *source, "list@domain or @domain")->required();
  add->add_option("targets", *targets, "addresses it expands to")->required();
  add->callback([inv, source, targets] {
    run(
        *inv, [&](DirectoryAdmin& admin) { admin.add_alias(*source, *targets); }, Access::Creates);
  });

  auto* del = leaf(alias, "del", "Delete an alias, or only the given targets", inv);
  del->add_option("alias", *source, "list@domain or @domain")->required();
  del->add_option("targets", *targets, "targets to remove (default: the whole alias)");
  del->callback([inv, source, targets] {
    run(*inv, [&](DirectoryAdmin& admin) { admin.delete_alias(*source, *targets); });
  });

  // virtual(5) table syntax: "source target1, target2"; then, as comment lines, where each
  // local domain's postmaster goes (RFC 5321 4.5.1 makes it valid even without an alias).
  auto* list = leaf(alias, "list", "List aliases, and where postmaster@ goes", inv);
  list->callback([inv] {
    run(*inv, [](DirectoryAdmin& admin) {
      for (const auto& a : admin.aliases())
        std::cout << a.source << " " << fmt::format("{}", fmt::join(a.targets, ", ")) << "\n";
      const auto routes = admin.postmaster_routes();
      bool default_mailbox = false;
      for (const auto& p : routes) {
        std::cout << fmt::format("# {} -> {} ({})\n", p.address, fmt::join(p.destinations, ", "),
                                 p.rule);
        default_mailbox = default_mailbox || p.default_mailbox;
      }
      if (default_mailbox) {
        const auto& first = routes.front().address;  // the first domain's postmaster
        std::cout << fmt::format(
            "# {} is a mailbox without a login: choose where postmaster mail goes with "
            "`mailroom alias add {} ADDRESS`, or read it with `mailroom user add {}`\n",
            first, first, first);
      }
    });
  });
}

void add_domain_commands(CLI::App& app) {
  auto* domain = app.add_subcommand("domain", "Local domains: add, del, list");
  domain->require_subcommand(1);
  auto inv = std::make_shared<Invocation>();
  auto name = std::make_shared<std::string>();

  auto* add = leaf(domain, "add", "Accept mail for a domain (joins server.local_domains)", inv);
  add->add_option("domain", *name)->required();
  add->callback([inv, name] {
    run(
        *inv, [&](DirectoryAdmin& admin) { admin.add_domain(*name); }, Access::Creates);
  });

  auto* del = leaf(domain, "del", "Stop accepting mail for an added domain", inv);
  del->add_option("domain", *name)->required();
  del->callback(
      [inv, name] { run(*inv, [&](DirectoryAdmin& admin) { admin.delete_domain(*name); }); });

  auto* list = leaf(domain, "list", "List local domains (config first, then added)", inv);
  list->callback([inv] {
    run(
        *inv,
        [](DirectoryAdmin& admin) {
          for (const auto& d : admin.domains()) std::cout << d << "\n";
        },
        Access::Reads,
        [](const config::Config& cfg) {  // no added domains yet: the config's
          for (const auto& d : directory::Snapshot::build({}, cfg.server.local_domains).domains)
            std::cout << d << "\n";
        });
  });
}

}  // namespace

void add_directory_commands(CLI::App& app) {
  add_user_commands(app);
  add_alias_commands(app);
  add_domain_commands(app);
}

}  // namespace mailroom::cli
