// supervisord: command line (supervisord 4.2's options) -> run_daemon().
#include <libgen.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <climits>
#include <cstdio>
#include <iostream>
#include <string>

#include "config/loader.hpp"
#include "daemon/daemon.hpp"
#include "daemon/sample_config.hpp"
#include "util/nss.hpp"

namespace po = boost::program_options;

namespace {

const char kUsage[] =
    "supervisord -- run a set of applications as daemons.\n"
    "\n"
    "Usage: supervisord [options]\n"
    "\n"
    "Options:\n"
    "-c/--configuration FILENAME -- configuration file path (searches if not given)\n"
    "-n/--nodaemon -- run in the foreground (same as 'nodaemon=true' in config file)\n"
    "-s/--silent -- no logs to stdout (maps to 'silent=true' in config file)\n"
    "-h/--help -- print this usage message and exit\n"
    "-v/--version -- print supervisord version number and exit\n"
    "--echo-config -- print a commented sample configuration file and exit\n"
    "-u/--user USER -- run supervisord as this user (or numeric uid)\n"
    "-m/--umask UMASK -- use this umask for daemon subprocess (default is 022)\n"
    "-d/--directory DIRECTORY -- directory to chdir to when daemonized\n"
    "-l/--logfile FILENAME -- use FILENAME as logfile path\n"
    "-y/--logfile_maxbytes BYTES -- use BYTES to limit the max size of logfile\n"
    "-z/--logfile_backups NUM -- number of backups to keep when max bytes reached\n"
    "-e/--loglevel LEVEL -- use LEVEL as log level (debug,info,warn,error,critical)\n"
    "-j/--pidfile FILENAME -- write a pid file for the daemon process to FILENAME\n"
    "-i/--identifier STR -- identifier used for this instance of supervisord\n"
    "-q/--childlogdir DIRECTORY -- the log directory for child process logs\n"
    "-k/--nocleanup --  prevent the process from performing cleanup (removal of\n"
    "                   old automatic child log files) at startup.\n"
    "-a/--minfds NUM -- the minimum number of file descriptors for start success\n"
    "-t/--strip_ansi -- strip ansi escape codes from process output\n"
    "--minprocs NUM  -- the minimum number of processes available for start success\n"
    "--profile_options OPTIONS -- run supervisord under profiler and output\n"
    "                             results based on OPTIONS, which  is a comma-sep'd\n"
    "                             list of 'cumulative', 'calls', and/or 'callers',\n"
    "                             e.g. 'cumulative,callers')\n";

const char* g_argv0 = "supervisord";

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "Error: %s\nFor help, use %s -h\n", msg.c_str(), g_argv0);
  return 2;
}

std::string self_dir(const char* argv0) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string p = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string(argv0);
  auto slash = p.rfind('/');
  return slash == std::string::npos ? std::string(".") : p.substr(0, slash);
}

}  // namespace

int main(int argc, char** argv) {
#ifdef SUP_STATIC_LIBC
  // A static glibc can't load NSS modules: see util/nss.hpp.
  sup::nss::use_builtin_sources_only();
#endif
  if (argc > 0) g_argv0 = argv[0];
  po::options_description opts;
  opts.add_options()
      ("configuration,c", po::value<std::string>())
      ("nodaemon,n", po::bool_switch())
      ("silent,s", po::bool_switch())
      ("help,h", po::bool_switch())
      ("version,v", po::bool_switch())
      ("echo-config", po::bool_switch())
      ("user,u", po::value<std::string>())
      ("umask,m", po::value<std::string>())
      ("directory,d", po::value<std::string>())
      ("logfile,l", po::value<std::string>())
      ("logfile_maxbytes,y", po::value<std::string>())
      ("logfile_backups,z", po::value<std::string>())
      ("loglevel,e", po::value<std::string>())
      ("pidfile,j", po::value<std::string>())
      ("identifier,i", po::value<std::string>())
      ("childlogdir,q", po::value<std::string>())
      ("nocleanup,k", po::bool_switch())
      ("minfds,a", po::value<std::string>())
      ("strip_ansi,t", po::bool_switch())
      ("minprocs", po::value<std::string>())
      ("profile_options", po::value<std::string>());
  po::variables_map vm;
  try {
    po::parsed_options parsed = po::command_line_parser(argc, argv).options(opts).run();
    po::store(parsed, vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(e.what());
  }
  if (vm["help"].as<bool>()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (vm["echo-config"].as<bool>()) {
    std::string_view text = sup::sample_config();
    std::fwrite(text.data(), 1, text.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  if (vm["version"].as<bool>()) {
    std::puts("4.2.5");
    return 0;
  }
  sup::DaemonOptions o;
  o.argv0 = g_argv0;
  if (vm.count("configuration")) {
    o.config_path = vm["configuration"].as<std::string>();
  } else {
    auto found = sup::config::find_config_file(sup::config::default_config_search_paths(self_dir(argv[0])));
    if (!found)
      return usage_error(
          "No config file found at default paths (" +
          [&] {
            std::string s;
            for (const auto& p : sup::config::default_config_search_paths(self_dir(argv[0])))
              s += (s.empty() ? "" : ", ") + p;
            return s;
          }() +
          "); use the -c option to specify a config file at a different path");
    o.config_path = *found;
    if (::geteuid() == 0)
      std::fprintf(stderr,
                   "Supervisord is running as root and it is searching for its configuration file in default "
                   "locations (including its current working directory); you probably want to specify a \"-c\" "
                   "argument specifying an absolute path to a configuration file for improved security.\n");
  }
  auto flag = [&](const char* name) -> std::optional<bool> {
    if (vm[name].as<bool>()) return true;
    return std::nullopt;
  };
  auto str = [&](const char* name) -> std::optional<std::string> {
    if (vm.count(name)) return vm[name].as<std::string>();
    return std::nullopt;
  };
  o.nodaemon = flag("nodaemon");
  o.silent = flag("silent");
  o.nocleanup = flag("nocleanup");
  o.strip_ansi = flag("strip_ansi");
  o.user = str("user");
  o.directory = str("directory");
  o.logfile = str("logfile");
  o.pidfile = str("pidfile");
  o.identifier = str("identifier");
  o.childlogdir = str("childlogdir");
  o.umask = str("umask");
  o.logfile_maxbytes = str("logfile_maxbytes");
  o.logfile_backups = str("logfile_backups");
  o.loglevel = str("loglevel");
  o.minfds = str("minfds");
  o.minprocs = str("minprocs");
  return sup::run_daemon(o);
}
