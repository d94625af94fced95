// supervisorctl: one command against a running supervisord, or an
// interactive shell when no command is given.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "ctl/controller.hpp"
#include "ctl/ctl_options.hpp"
#include "ctl/rpc.hpp"
#include "ctl/shell.hpp"

extern char** environ;

int main(int argc, char** argv) {
  using namespace sup::ctl;
  const std::string progname = resolve_progname(argc > 0 ? argv[0] : "supervisorctl", std::getenv("PATH"));
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    std::size_t eq = kv.find('=');
    if (eq != std::string::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  Setup setup = setup_from_command_line(progname, std::vector<std::string>(argv + 1, argv + argc), env);
  if (setup.exit_now) {
    std::cout << setup.out;
    std::cerr << setup.err;
    return setup.exit_status;
  }

  install_signal_handlers();
  Terminal terminal;
  terminal.out = &std::cout;
  terminal.err = &std::cerr;
  terminal.read_line = read_line;
  terminal.read_secret = read_secret;
  terminal.interrupted = interrupt_pending;
  terminal.clear_interrupt = clear_interrupt;
  RpcFactory factory = [](const std::string& url, const std::string& user, const std::string& pass) {
    return make_xmlrpc_rpc(url, user, pass, interrupt_pending);
  };
  const std::vector<std::string> args = setup.options.args;
  Controller controller(std::move(setup.options), factory, terminal);

  if (!args.empty()) {
    std::string line;
    for (const auto& a : args) line += (line.empty() ? "" : " ") + a;
    try {
      controller.onecmd(line);
    } catch (const Interrupted&) {
      std::cout.flush();
      std::cerr << "KeyboardInterrupt\n";
      return 1;
    }
    std::cout.flush();
    return controller.exit_status();
  }
  run_shell(controller);
  return 0;  // the shell always exits 0
}
