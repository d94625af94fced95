// Text that supervisorctl prints, byte for byte as supervisorctl 4.2.5 does:
// status and avail lines, per-process result messages, the help index, and
// the Python-flavoured "error: <class ...>" lines it prints when a call fails
// in a way a command does not handle. Pure functions, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xmlrpc/client.hpp"
#include "xmlrpc/value.hpp"

namespace sup::ctl {

// Fault codes of supervisor's XML-RPC interface (a wire contract).
namespace fault {
inline constexpr int kUnknownMethod = 1;
inline constexpr int kIncorrectParameters = 2;
inline constexpr int kBadArguments = 3;
inline constexpr int kSignatureUnsupported = 4;
inline constexpr int kShutdownState = 6;
inline constexpr int kBadName = 10;
inline constexpr int kBadSignal = 11;
inline constexpr int kNoFile = 20;
inline constexpr int kNotExecutable = 21;
inline constexpr int kFailed = 30;
inline constexpr int kAbnormalTermination = 40;
inline constexpr int kSpawnError = 50;
inline constexpr int kAlreadyStarted = 60;
inline constexpr int kNotRunning = 70;
inline constexpr int kSuccess = 80;
inline constexpr int kAlreadyAdded = 90;
inline constexpr int kStillRunning = 91;
inline constexpr int kCantReread = 92;
}  // namespace fault

// Exit statuses of one-shot supervisorctl (LSB init-script conventions).
namespace exit_code {
inline constexpr int kSuccess = 0;
inline constexpr int kGeneric = 1;
inline constexpr int kInvalidArgs = 2;
inline constexpr int kUnimplementedFeature = 3;  // also status: "not running"
inline constexpr int kInsufficientPrivileges = 4;  // also status: "unknown"
inline constexpr int kNotInstalled = 5;
inline constexpr int kNotRunning = 7;
}  // namespace exit_code

// Process state codes (supervisor.states).
namespace state {
inline constexpr int kStopped = 0;
inline constexpr int kRunning = 20;
inline constexpr int kExited = 100;
inline constexpr int kFatal = 200;
inline constexpr int kUnknown = 1000;
}  // namespace state
// STOPPED, EXITED, FATAL, UNKNOWN: `status` exits 3 when it lists one.
bool is_stopped_state(std::int64_t code);

// --- Python-compatible string helpers ---------------------------------------

// repr() of a str: single quotes unless the text has ' and no ", escapes
// backslash, the quote, \n \r \t and other control characters.
std::string py_repr(std::string_view s);
// str() of a value as `'%s' % v` prints it (ints, strings, bools as True/False).
std::string py_str(const xmlrpc::Value& v);
// int() of a string: optional surrounding whitespace, optional sign, decimal
// digits with single underscores between them. `overflow` when it does not
// fit in 64 bits (Python would accept it, XML-RPC would not).
struct PyInt {
  bool ok = false;
  bool overflow = false;
  std::int64_t value = 0;
};
PyInt py_int(std::string_view s);
// Width in characters (UTF-8 code points), as Python's len() and %-Ns count.
std::size_t display_width(std::string_view utf8);
// s padded with spaces on the right to `width` characters (never truncated).
std::string ljust(std::string_view s, std::size_t width);
// Python str.split(): runs of whitespace separate, no empty words.
std::vector<std::string> split_words(std::string_view s);
// Python str.strip() for ASCII whitespace.
std::string_view strip(std::string_view s);
// cmd.Cmd.columnize: lays words out in as few rows as fit in `width`
// characters, columns separated by two spaces; one line per row.
std::vector<std::string> columnize(const std::vector<std::string>& words, std::size_t width = 79);

// --- names -------------------------------------------------------------------

// "group:name", or "name" when both are equal.
std::string make_namespec(std::string_view group, std::string_view name);
// "g:*" and "g:" give {g, nullopt}; "g:n" gives {g, n}; "n" gives {n, n}.
std::pair<std::string, std::optional<std::string>> split_namespec(std::string_view namespec);

// --- process info -------------------------------------------------------------

// Member of an XML-RPC struct as text / integer; "" / 0 when absent.
std::string member_str(const xmlrpc::Value& v, const std::string& key);
std::int64_t member_int(const xmlrpc::Value& v, const std::string& key);

// `status` lines for getProcessInfo structs: "%-<W>s%-10s%s" with
// W = max(30, longest namespec) + 3, in the given order.
std::vector<std::string> status_lines(const std::vector<xmlrpc::Value>& infos);
// One `avail` line for a getAllConfigInfo struct.
std::string avail_line(const xmlrpc::Value& config_info);

// Message for a start result (`status` code of a result struct or a fault);
// nullopt for a code start never reports (supervisorctl raises then).
std::optional<std::string> start_result_message(int code, const std::string& namespec);
// Same for stop ("stopped") and signal ("signalled"); FAILED prints the
// fault description verbatim.
std::optional<std::string> signal_result_message(int code, const std::string& namespec, const std::string& description,
                                                 std::string_view success_word);
std::optional<std::string> clear_result_message(int code, const std::string& namespec);
// `reread` output for reloadConfig's [added, changed, removed].
std::vector<std::string> reread_lines(const std::vector<std::string>& added, const std::vector<std::string>& changed,
                                      const std::vector<std::string>& removed);

// --- help ----------------------------------------------------------------------

// Command names listed by `help` (sorted), and the full `help` output.
const std::vector<std::string>& documented_commands();
std::vector<std::string> help_index_lines();
// Help text of one command (`help <cmd>` and after usage errors); nullopt for
// a command without help.
std::optional<std::vector<std::string>> command_help(std::string_view command);

// --- failures supervisorctl does not handle ----------------------------------------
// supervisorctl prints these as "error: <class ...>, <value>: file: <f> line: <n>"
// from its exception handler; the file/line are those Debian's 4.2.5 prints.

std::string transport_error_line(const xmlrpc::TransportError& e, const std::string& serverurl);
std::string fault_error_line(const xmlrpc::Fault& f);
// "Unknown result code N for NAME" from the result formatter at `line`.
std::string unknown_result_error_line(int code, const std::string& namespec, int line);
std::string bad_url_error_line(const std::string& serverurl);
std::string xmlrpc_overflow_error_line();
std::string eof_error_line(int line);

}  // namespace sup::ctl
