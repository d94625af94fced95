// supervisorctl's command interpreter: parses one command line, talks to
// supervisord through an Rpc, prints exactly what supervisorctl 4.2.5 prints
// and keeps its exit status ("last error wins"). Single-threaded except for
// `fg`, which streams output on helper threads while reading stdin.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ctl/ctl_options.hpp"
#include "ctl/rpc.hpp"

namespace sup::ctl {

// Raised out of onecmd() when the user pressed Ctrl-C during a call
// (Python's KeyboardInterrupt): one-shot mode exits 1, the shell ends.
struct Interrupted {};

// How the controller talks to the terminal.
struct Terminal {
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  // Reads one line after printing `prompt` (without the newline); nullopt at
  // end of input. Used for confirmations, credentials and `fg` input.
  std::function<std::optional<std::string>(const std::string& prompt)> read_line;
  // Same without echo (password).
  std::function<std::optional<std::string>(const std::string& prompt)> read_secret;
  // True once Ctrl-C was pressed since the last clear_interrupt().
  std::function<bool()> interrupted;
  std::function<void()> clear_interrupt;
};

class Controller {
 public:
  Controller(CtlOptions options, RpcFactory factory, Terminal terminal);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Runs one command line. Returns true when the shell should end
  // (quit, exit, EOF). May throw Interrupted.
  bool onecmd(const std::string& line);

  int exit_status() const { return exit_status_; }
  const CtlOptions& options() const { return options_; }

  // Completion candidates (each ending in a space) for the word `text` of the
  // line `line`, as the shell's tab completion offers them. Process and group
  // names are fetched once per command and cached.
  std::vector<std::string> complete(const std::string& text, const std::string& line);
  // Every command name the interpreter accepts in completion.
  static const std::vector<std::string>& vocabulary();

 private:
  using Handler = void (Controller::*)(const std::string& arg);
  struct Command;

  void output(const std::string& line);
  Rpc& rpc();
  // A call whose fault the caller handles; transport failures throw.
  CallResult call(const std::string& method, xmlrpc::Array params = {});
  // A call whose fault the caller does not handle (throws it).
  xmlrpc::Value call_value(const std::string& method, xmlrpc::Array params = {});
  bool upcheck();
  void set_exit_from_fault(int code, std::optional<int> ignored = std::nullopt);
  void print_help(const std::string& command);
  xmlrpc::Array all_process_info();
  void stream(const std::string& path);
  bool run(const std::string& cmd, const std::string& arg);

  void do_help(const std::string& arg);
  void do_eof(const std::string& arg);
  void do_add(const std::string& arg);
  void do_avail(const std::string& arg);
  void do_clear(const std::string& arg);
  void do_fg(const std::string& arg);
  void do_maintail(const std::string& arg);
  void do_open(const std::string& arg);
  void do_pid(const std::string& arg);
  void do_quit(const std::string& arg);
  void do_reload(const std::string& arg);
  void do_remove(const std::string& arg);
  void do_reread(const std::string& arg);
  void do_restart(const std::string& arg);
  void do_rolling_restart(const std::vector<std::string>& names);
  void do_shutdown(const std::string& arg);
  void do_signal(const std::string& arg);
  void do_start(const std::string& arg);
  void do_status(const std::string& arg);
  void do_stop(const std::string& arg);
  void do_tail(const std::string& arg);
  void do_update(const std::string& arg);
  void do_version(const std::string& arg);

  CtlOptions options_;
  RpcFactory factory_;
  Terminal term_;
  std::unique_ptr<Rpc> rpc_;
  int exit_status_ = 0;
  bool quit_ = false;
  std::optional<xmlrpc::Array> complete_info_;
};

}  // namespace sup::ctl
