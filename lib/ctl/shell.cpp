#include "ctl/shell.hpp"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <vector>

// libedit's readline-compatible API (BSD licensed).
#include <editline/readline.h>

namespace sup::ctl {
namespace {

volatile sig_atomic_t g_interrupted = 0;

void on_sigint(int) { g_interrupted = 1; }

// Buffered reads of fd 0 that give up when Ctrl-C was pressed.
std::optional<std::string> read_fd_line() {
  static std::string buffer;
  static bool at_eof = false;
  for (;;) {
    std::size_t nl = buffer.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      return line;
    }
    if (at_eof) {
      if (buffer.empty()) return std::nullopt;
      std::string line;
      line.swap(buffer);
      return line;
    }
    char chunk[4096];
    ssize_t n = ::read(0, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR && !g_interrupted) continue;
      if (errno == EINTR) return std::nullopt;
      at_eof = true;
      continue;
    }
    if (n == 0) {
      at_eof = true;
      continue;
    }
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
}

Controller* g_completing = nullptr;
std::vector<std::string> g_matches;

char* completion_entry(const char* text, int state) {
  if (state == 0) {
    g_matches.clear();
    if (g_completing != nullptr) {
      std::string line = rl_line_buffer != nullptr ? rl_line_buffer : "";
      for (auto& m : g_completing->complete(text, line)) {
        // The line editor appends the separator itself.
        if (!m.empty() && m.back() == ' ') m.pop_back();
        g_matches.push_back(std::move(m));
      }
    }
  }
  if (state < 0 || static_cast<std::size_t>(state) >= g_matches.size()) return nullptr;
  return ::strdup(g_matches[static_cast<std::size_t>(state)].c_str());
}

char** attempt_completion(const char* text, int, int) {
  rl_attempted_completion_over = 1;  // never fall back to file names
  return rl_completion_matches(text, completion_entry);
}

}  // namespace

void install_signal_handlers() {
  struct sigaction sa{};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR
  ::sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

bool interrupt_pending() { return g_interrupted != 0; }
void clear_interrupt() { g_interrupted = 0; }

bool use_line_editor() { return ::isatty(0) && ::isatty(1); }

std::optional<std::string> read_line(const std::string& prompt) {
  std::cout.flush();
  if (use_line_editor()) {
    char* raw = ::readline(prompt.c_str());
    if (raw == nullptr) return std::nullopt;
    std::string line(raw);
    std::free(raw);
    return line;
  }
  std::cout << prompt;
  std::cout.flush();
  return read_fd_line();
}

std::optional<std::string> read_secret(const std::string& prompt) {
  std::cout.flush();
  if (!::isatty(0)) {
    std::cerr << prompt;
    std::cerr.flush();
    return read_fd_line();
  }
  std::cout << prompt;
  std::cout.flush();
  termios saved{};
  ::tcgetattr(0, &saved);
  termios quiet = saved;
  quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
  ::tcsetattr(0, TCSAFLUSH, &quiet);
  auto line = read_fd_line();
  ::tcsetattr(0, TCSAFLUSH, &saved);
  std::cout << "\n";
  return line;
}

void run_shell(Controller& controller) {
  const CtlOptions& options = controller.options();
  const bool editor = use_line_editor();
  if (editor) {
    // ':' '*' '-' belong to names ("group:*", "my-app"), so they do not split words.
    static char word_breaks[] = " \t\n\"\\'`@$><=;|&{(";
    rl_completer_word_break_characters = word_breaks;
    rl_attempted_completion_function = attempt_completion;
    g_completing = &controller;
    if (options.history_file) ::read_history(options.history_file->c_str());
  }
  const std::string prompt = options.prompt + "> ";
  std::string line = "status";  // the shell starts by showing the status
  for (;;) {
    bool stop = false;
    try {
      stop = controller.onecmd(line);
    } catch (const Interrupted&) {
      std::cout << "\n";
      break;
    }
    if (stop) break;
    std::cout.flush();
    auto next = read_line(prompt);
    if (!next) {
      if (interrupt_pending()) {  // Ctrl-C at the prompt leaves the shell
        std::cout << "\n";
        break;
      }
      line = "EOF";
      continue;
    }
    if (editor && !next->empty()) ::add_history(next->c_str());
    line = *next;
  }
  std::cout.flush();
  if (editor && options.history_file) ::write_history(options.history_file->c_str());
  g_completing = nullptr;
}

}  // namespace sup::ctl
