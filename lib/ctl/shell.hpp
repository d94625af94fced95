// The terminal side of supervisorctl: line input (libedit on a terminal,
// plain reads otherwise), Ctrl-C tracking, and the interactive shell loop.
#pragma once

#include <optional>
#include <string>

#include "ctl/controller.hpp"

namespace sup::ctl {

// Installs the SIGINT handler (no SA_RESTART, so blocking reads and socket
// calls return and can be abandoned) and ignores SIGPIPE.
void install_signal_handlers();
bool interrupt_pending();
void clear_interrupt();

// True when both stdin and stdout are terminals (then the line editor is used,
// as Python's input() uses readline only then).
bool use_line_editor();

// Reads one line from stdin after writing `prompt` to stdout; nullopt at end
// of input or on Ctrl-C.
std::optional<std::string> read_line(const std::string& prompt);
// Same without echo, for passwords.
std::optional<std::string> read_secret(const std::string& prompt);

// Interactive loop: runs `status`, then reads "<prompt>> " lines until quit,
// exit, end of input or Ctrl-C. Loads and saves the history file if set;
// completes command, process and group names on TAB.
void run_shell(Controller& controller);

}  // namespace sup::ctl
