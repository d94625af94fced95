// One pure converter per supervisord option datatype (supervisor/datatypes.py
// semantics). Each returns the value or a short reason without context; the
// loader adds section, option, file and the offending value.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/model.hpp"
#include "util/result.hpp"

namespace sup::config {

// true/yes/on/1 and false/no/off/0, any case.
Result<bool> parse_boolean(std::string_view s);
// Python int(): optional surrounding whitespace, sign, digits with single '_'
// between them.
Result<long long> parse_integer(std::string_view s);
// Integer with optional KB/MB/GB suffix (any case, powers of 1024).
Result<std::int64_t> parse_byte_size(std::string_view s);
// Python int(s, 8): "022", "0o22", "777".
Result<mode_t> parse_octal(std::string_view s);
// "TERM", "sigterm", "SIGUSR2", "15": must name a real signal.
Result<int> parse_signal(std::string_view s);
// "TERM" for 15; "signal 99" for numbers without a name.
std::string signal_name(int sig);
// Comma-separated integers 0..255.
Result<std::vector<int>> parse_exitcodes(std::string_view s);
// true/false (boolean words) or "unexpected".
Result<AutoRestart> parse_autorestart(std::string_view s);
// critical/error/warn/info/debug/trace/blather -> supervisord's numbers.
Result<int> parse_log_level(std::string_view s);

struct UserIds {
  uid_t uid;
  gid_t gid;  // the user's primary group
};
// A user name or a numeric uid that exists in the user database.
Result<UserIds> parse_user(std::string_view s);

struct OwnerIds {
  uid_t uid;
  std::optional<gid_t> gid;  // unset: leave the group alone
};
// "user" or "user:group" (names or numbers, must exist); chown= and socket_owner=.
Result<OwnerIds> parse_user_group(std::string_view s);

// allowed_uids= of [unix_http_server]: comma-separated user names (looked up
// in the user database now) or numeric uids (taken as they are: a uid needs
// no passwd entry to connect). Blanks around items are ignored; duplicates
// are dropped; an empty list or item is an error.
Result<std::vector<uid_t>> parse_allowed_uids(std::string_view s);

using EnvList = std::vector<std::pair<std::string, std::string>>;
// KEY=val,KEY2="v,2" tokenised like Python's shlex (non-POSIX mode, word
// characters extended with /.+-():), quotes stripped. A repeated key keeps
// its first position and takes the later value.
Result<EnvList> parse_environment(std::string_view s);
// Overlay `over` onto `base` (dict.update semantics).
void merge_environment(EnvList& base, const EnvList& over);

struct InetAddress {
  std::string host;  // "" = all interfaces
  int port = 0;
};
// "host:port", ":port", "*:port" or "port" (1..65535).
Result<InetAddress> parse_inet_address(std::string_view s);

struct LogfileValue {
  LogTarget::Kind kind = LogTarget::Kind::Auto;
  std::string path;  // Kind::File only, '~' expanded
};
// AUTO / NONE / OFF / syslog (any case) or a path whose directory exists.
Result<LogfileValue> parse_logfile(std::string_view s);

// scheme://... with a host or a path (Python urlparse check).
Result<std::string> parse_url(std::string_view s);

// POSIX shell-like split (Python shlex.split): quotes, backslashes, any
// whitespace (newlines included) separates words; no comments.
Result<std::vector<std::string>> split_command(std::string_view s);

// A program, group or process name: stripped, without ' ', ':' or '/'.
Result<std::string> parse_process_name(std::string_view s);

// Comma-separated, each item stripped; "" -> empty list.
std::vector<std::string> parse_list_of_strings(std::string_view s);

// '~' and '~user' at the start of a path, like os.path.expanduser.
std::string expand_user(std::string_view path);
// The directory must exist ('~' expanded).
Result<std::string> parse_existing_directory(std::string_view s);
// The directory part of the path, if any, must exist ('~' expanded).
Result<std::string> parse_existing_dirpath(std::string_view s);
// os.path.normpath(os.path.abspath(expanduser(p))) against the current directory.
std::string normalize_path(std::string_view p);

}  // namespace sup::config
