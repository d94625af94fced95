// Name service lookups: users and groups (passwd, group, initgroups) and,
// as a fallback, host names (ahosts).
//
// The shipped daemon is linked statically (issue 7: its resident memory),
// and a statically linked glibc cannot load the NSS modules that
// /etc/nsswitch.conf may name (libnss_systemd, sss, ldap...): it crashes
// in them. Such a daemon calls use_builtin_sources_only() first thing; from
// then on glibc answers in process from its built-in sources only (files
// for users and groups, files and dns for hosts), and a name or id those
// sources don't know is asked of getent(1), a dynamically linked program
// that loads whatever nsswitch.conf lists. Group memberships are asked of
// `getent initgroups` when nsswitch.conf lists sources besides files for
// groups; those answers are kept for a minute (as nscd would), so that
// respawning a program stays cheap. A host name that files and dns don't
// resolve is asked of `getent ahosts` when nsswitch.conf lists other host
// sources (host_addresses_elsewhere, used where the daemon resolves).
// In a dynamically linked program (the client, the tests) every lookup is
// glibc's own, through every source.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sup::nss {

struct User {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};

std::optional<User> user_named(const std::string& name);
std::optional<User> user_with_id(uid_t uid);
std::optional<gid_t> group_named(const std::string& name);
bool group_exists(gid_t gid);

// What initgroups() would set: gid first, then every group listing user as
// a member (getgrouplist order), without repeats.
std::vector<gid_t> group_list(const std::string& user, gid_t gid);

// Addresses (numeric, in getent's order, without repeats) of a host name
// that getaddrinfo could not resolve: in a daemon restricted to the
// built-in sources, asked of `getent ahosts` when nsswitch.conf lists host
// sources besides files and dns (myhostname, mdns, resolve...); empty
// otherwise.
std::vector<std::string> host_addresses_elsewhere(const std::string& host);

// See the top of this file. Call before any lookup, from the main thread.
void use_builtin_sources_only();

// Exposed for tests: does the nsswitch.conf text list, for database db, a
// source that a static glibc doesn't have built in (anything but files,
// and dns for hosts)?
bool lists_external_sources(std::string_view nsswitch_conf, std::string_view db);

// Exposed for tests: one line of `getent passwd` / `getent group` /
// `getent initgroups` output, parsed.
std::optional<User> parse_passwd_line(std::string_view line);
std::optional<gid_t> parse_group_line_gid(std::string_view line);
std::vector<gid_t> parse_initgroups_line(std::string_view line);
std::vector<std::string> parse_ahosts(std::string_view out);

}  // namespace sup::nss
