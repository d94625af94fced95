// Commands against a scripted fake server: what is printed and the exit status.
#include <doctest/doctest.h>

#include <deque>
#include <map>
#include <sstream>

#include "ctl/controller.hpp"
#include "ctl/format.hpp"

using namespace sup::ctl;
using xmlrpc::Array;
using xmlrpc::Struct;
using xmlrpc::Value;

namespace {

// The server's side: a handler per method; records every call.
struct FakeServer {
  std::map<std::string, std::function<CallResult(const Array&)>> methods;
  std::vector<std::string> calls;
  std::optional<xmlrpc::TransportError> down;  // every call fails like this
  std::string streamed;                         // body served to stream_get
  std::vector<std::string> stream_paths;

  FakeServer() {
    methods["supervisor.getVersion"] = [](const Array&) { return CallResult::of(Value("3.0")); };
  }
};

class FakeRpc final : public Rpc {
 public:
  explicit FakeRpc(FakeServer* server) : server_(server) {}
  CallResult call(const std::string& method, const Array& params) override {
    std::string rec = method;
    for (const auto& p : params) rec += " " + py_str(p);
    server_->calls.push_back(rec);
    if (server_->down) return CallResult::of_transport(*server_->down);
    auto it = server_->methods.find(method);
    if (it == server_->methods.end()) return CallResult::of_fault(fault::kUnknownMethod, "UNKNOWN_METHOD");
    return it->second(params);
  }
  bool stream_get(const std::string& path, const std::function<bool(std::string_view)>& on_data,
                  xmlrpc::TransportError*) override {
    server_->stream_paths.push_back(path);
    on_data(server_->streamed);
    return true;
  }

 private:
  FakeServer* server_;
};

Value proc(const std::string& group, const std::string& name, int state, const std::string& statename,
           const std::string& description, int pid = 0) {
  return Value(Struct{{"name", Value(name)},
                      {"group", Value(group)},
                      {"state", Value(state)},
                      {"statename", Value(statename)},
                      {"description", Value(description)},
                      {"pid", Value(pid)}});
}

Value result(const std::string& group, const std::string& name, int status, const std::string& description = "OK") {
  return Value(Struct{{"name", Value(name)},
                      {"group", Value(group)},
                      {"status", Value(status)},
                      {"description", Value(description)}});
}

struct Run {
  std::string out;
  std::string err;
  int status = 0;
};

struct Harness {
  FakeServer server;
  CtlOptions options;
  std::deque<std::string> input;  // lines the "user" types

  Harness() { options.serverurl = "unix:///tmp/fake.sock"; }

  Run run(const std::string& line) {
    std::ostringstream out, err;
    Terminal t;
    t.out = &out;
    t.err = &err;
    t.read_line = [this, &out](const std::string& prompt) -> std::optional<std::string> {
      out << prompt;
      if (input.empty()) return std::nullopt;
      std::string l = input.front();
      input.pop_front();
      return l;
    };
    t.read_secret = t.read_line;
    FakeServer* s = &server;
    Controller c(options, [s](const std::string&, const std::string&, const std::string&) {
      return std::unique_ptr<Rpc>(new FakeRpc(s));
    }, t);
    c.onecmd(line);
    return {out.str(), err.str(), c.exit_status()};
  }
};

void with_processes(FakeServer& s) {
  s.methods["supervisor.getAllProcessInfo"] = [](const Array&) {
    return CallResult::of(Value(Array{proc("fast", "fast", 200, "FATAL", "Exited too quickly (process log may have details)"),
                                      proc("grp", "a", 20, "RUNNING", "pid 7, uptime 0:01:00", 7),
                                      proc("grp", "b", 0, "STOPPED", "Not started"),
                                      proc("web", "web", 20, "RUNNING", "pid 9, uptime 1 day, 0:00:01", 9)}));
  };
}

xmlrpc::TransportError transport(xmlrpc::TransportError::Kind kind, int err = 0, int http = 0) {
  xmlrpc::TransportError e;
  e.kind = kind;
  e.err = err;
  e.http_status = http;
  return e;
}

}  // namespace

TEST_CASE("status: all running exits 0, a stopped one exits 3, an unknown name exits 4") {
  Harness h;
  with_processes(h.server);
  Run r = h.run("status web");
  CHECK(r.out == "web                              RUNNING   pid 9, uptime 1 day, 0:00:01\n");
  CHECK(r.status == 0);

  r = h.run("status");
  CHECK(r.status == 3);
  CHECK(r.out.find("grp:b                            STOPPED   Not started\n") != std::string::npos);

  r = h.run("status nosuch");
  CHECK(r.out == "nosuch: ERROR (no such process)\n");
  CHECK(r.status == 4);

  r = h.run("status nogrp:*");
  CHECK(r.out == "nogrp: ERROR (no such group)\n");
  CHECK(r.status == 4);

  // The "not running" verdict comes after the unknown name and wins.
  r = h.run("status nosuch grp:*");
  CHECK(r.out ==
        "nosuch: ERROR (no such process)\n"
        "grp:a                            RUNNING   pid 7, uptime 0:01:00\n"
        "grp:b                            STOPPED   Not started\n");
  CHECK(r.status == 3);
}

TEST_CASE("connection problems: messages and exit statuses per command") {
  Harness h;
  h.server.down = transport(xmlrpc::TransportError::Kind::NoSuchFile, ENOENT);
  Run r = h.run("status");
  CHECK(r.out == "unix:///tmp/fake.sock no such file\n");
  CHECK(r.status == 4);
  r = h.run("start x");
  CHECK(r.out == "unix:///tmp/fake.sock no such file\n");
  CHECK(r.status == 7);
  r = h.run("avail");  // no up-check: Python's exception text
  CHECK(r.out.rfind("error: <class 'FileNotFoundError'>, [Errno 2] No such file or directory", 0) == 0);
  CHECK(r.status == 1);
  r = h.run("shutdown");
  CHECK(r.out == "ERROR: unix:///tmp/fake.sock no such file (already shut down?)\n");
  CHECK(r.status == 1);

  h.server.down = transport(xmlrpc::TransportError::Kind::Refused, ECONNREFUSED);
  r = h.run("stop x");
  CHECK(r.out == "unix:///tmp/fake.sock refused connection\n");
  CHECK(r.status == 4);
}

TEST_CASE("authentication required: reported, then the retry's failure is printed, exit 1") {
  Harness h;
  h.server.down = transport(xmlrpc::TransportError::Kind::AuthRequired, 0, 401);
  Run r = h.run("status");
  CHECK(r.out ==
        "Server requires authentication\n"
        "error: <class 'xmlrpc.client.ProtocolError'>, <ProtocolError for 127.0.0.1/RPC2: 401 Unauthorized>: "
        "file: /usr/lib/python3/dist-packages/supervisor/xmlrpc.py line: 539\n");
  CHECK(r.status == 1);
}

TEST_CASE("interactive authentication asks for credentials and retries") {
  Harness h;
  h.options.interactive = true;
  with_processes(h.server);
  int attempts = 0;
  h.server.methods["supervisor.getVersion"] = [&](const Array&) {
    if (attempts++ == 0) return CallResult::of_transport(transport(xmlrpc::TransportError::Kind::AuthRequired, 0, 401));
    return CallResult::of(Value("3.0"));
  };
  h.input = {"user", "secret"};
  Run r = h.run("status web");
  CHECK(r.out ==
        "Server requires authentication\nUsername:Password:\n"
        "web                              RUNNING   pid 9, uptime 1 day, 0:00:01\n");
  CHECK(r.status == 0);
}

TEST_CASE("API version mismatch exits 5; a server without the namespace exits 3") {
  Harness h;
  h.server.methods["supervisor.getVersion"] = [](const Array&) { return CallResult::of(Value("2.0")); };
  Run r = h.run("version");
  CHECK(r.out ==
        "Sorry, this version of supervisorctl expects to talk to a server with API version 3.0, but the remote "
        "version is 2.0.\n");
  CHECK(r.status == 5);
  h.server.methods.erase("supervisor.getVersion");
  r = h.run("pid");
  CHECK(r.out.rfind("Sorry, supervisord responded but did not recognize the supervisor namespace", 0) == 0);
  CHECK(r.status == 3);
}

TEST_CASE("start: exit statuses by fault") {
  Harness h;
  std::map<std::string, CallResult> answers = {
      {"ok", CallResult::of(Value(true))},
      {"up", CallResult::of_fault(fault::kAlreadyStarted, "ALREADY_STARTED: up")},
      {"nosuch", CallResult::of_fault(fault::kBadName, "BAD_NAME: nosuch")},
      {"bad", CallResult::of_fault(fault::kSpawnError, "SPAWN_ERROR: bad")},
      {"odd", CallResult::of_fault(fault::kFailed, "FAILED")},
  };
  h.server.methods["supervisor.startProcess"] = [&](const Array& p) { return answers.at(p[0].as_string()); };
  h.server.methods["supervisor.startProcessGroup"] = [](const Array& p) {
    if (p[0].as_string() != "grp") return CallResult::of_fault(fault::kBadName, "BAD_NAME: x");
    return CallResult::of(Value(Array{result("grp", "a", fault::kSuccess), result("grp", "b", fault::kAlreadyStarted)}));
  };

  Run r = h.run("start ok up");
  CHECK(r.out == "ok: started\nup: ERROR (already started)\n");
  CHECK(r.status == 0);
  r = h.run("start nosuch");
  CHECK(r.out == "nosuch: ERROR (no such process)\n");
  CHECK(r.status == 1);
  r = h.run("start bad");
  CHECK(r.out == "bad: ERROR (spawn error)\n");
  CHECK(r.status == 7);
  r = h.run("start bad ok");  // the last error wins, a success does not reset it
  CHECK(r.status == 7);
  r = h.run("start grp:*");
  CHECK(r.out == "grp:a: started\ngrp:b: ERROR (already started)\n");
  CHECK(r.status == 0);
  r = h.run("start nogrp:");
  CHECK(r.out == "nogrp: ERROR (no such group)\n");
  CHECK(r.status == 2);
  r = h.run("start");
  CHECK(r.out.rfind("Error: start requires a process name\n", 0) == 0);
  CHECK(r.out.find("start all") != std::string::npos);  // followed by the command's help
  CHECK(r.status == 2);
  h.server.methods["supervisor.startAllProcesses"] = [](const Array&) {
    return CallResult::of(Value(Array{result("grp", "a", fault::kSuccess), result("x", "x", fault::kSpawnError),
                                      result("y", "y", fault::kAlreadyStarted)}));
  };
  r = h.run("start all");
  CHECK(r.out == "grp:a: started\nx: ERROR (spawn error)\ny: ERROR (already started)\n");
  CHECK(r.status == 7);
  r = h.run("start odd");
  CHECK(r.out ==
        "error: <class 'ValueError'>, Unknown result code 30 for odd: file: "
        "/usr/lib/python3/dist-packages/supervisor/supervisorctl.py line: 761\n");
  CHECK(r.status == 1);
}

TEST_CASE("stop, restart and signal") {
  Harness h;
  h.server.methods["supervisor.stopProcess"] = [](const Array& p) {
    const std::string& n = p[0].as_string();
    if (n == "idle") return CallResult::of_fault(fault::kNotRunning, "NOT_RUNNING: idle");
    if (n == "stuck") return CallResult::of_fault(fault::kFailed, "FAILED: stuck is in UNKNOWN state");
    return CallResult::of(Value(true));
  };
  h.server.methods["supervisor.startProcess"] = [](const Array&) { return CallResult::of(Value(true)); };
  h.server.methods["supervisor.signalProcess"] = [](const Array& p) {
    if (p[1].as_string() == "BOGUS") return CallResult::of_fault(fault::kBadSignal, "BAD_SIGNAL: BOGUS");
    if (p[0].as_string() == "idle") return CallResult::of_fault(fault::kNotRunning, "NOT_RUNNING: idle");
    return CallResult::of(Value(true));
  };

  Run r = h.run("stop idle");
  CHECK(r.out == "idle: ERROR (not running)\n");
  CHECK(r.status == 0);
  r = h.run("stop stuck");
  CHECK(r.out == "FAILED: stuck is in UNKNOWN state\n");
  CHECK(r.status == 1);
  r = h.run("stop");
  CHECK(r.out.rfind("Error: stop requires a process name\n", 0) == 0);
  CHECK(r.status == 1);

  h.server.calls.clear();
  r = h.run("restart web");
  CHECK(r.out == "web: stopped\nweb: started\n");
  CHECK(r.status == 0);
  CHECK(h.server.calls == std::vector<std::string>{"supervisor.getVersion", "supervisor.getVersion",
                                                   "supervisor.stopProcess web", "supervisor.getVersion",
                                                   "supervisor.startProcess web"});

  r = h.run("signal HUP web");
  CHECK(r.out == "web: signalled\n");
  r = h.run("signal BOGUS web");
  CHECK(r.out == "web: ERROR (bad signal name)\n");
  CHECK(r.status == 1);
  r = h.run("signal HUP idle");
  CHECK(r.out == "idle: ERROR (not running)\n");
  CHECK(r.status == 7);
  r = h.run("signal HUP");
  CHECK(r.out.rfind("Error: signal requires a signal name and a process name\n", 0) == 0);
  CHECK(r.status == 1);
}

TEST_CASE("pid") {
  Harness h;
  with_processes(h.server);
  h.server.methods["supervisor.getPID"] = [](const Array&) { return CallResult::of(Value(1234)); };
  h.server.methods["supervisor.getProcessInfo"] = [](const Array& p) {
    if (p[0].as_string() == "web") return CallResult::of(proc("web", "web", 20, "RUNNING", "", 9));
    if (p[0].as_string() == "grp:b") return CallResult::of(proc("grp", "b", 0, "STOPPED", "", 0));
    return CallResult::of_fault(fault::kBadName, "BAD_NAME");
  };
  CHECK(h.run("pid").out == "1234\n");
  Run r = h.run("pid web");
  CHECK(r.out == "9\n");
  CHECK(r.status == 0);
  r = h.run("pid grp:b");
  CHECK(r.out == "0\n");
  CHECK(r.status == 7);
  r = h.run("pid nosuch");
  CHECK(r.out == "No such process nosuch\n");
  CHECK(r.status == 1);
  CHECK(h.run("pid all").out == "0\n7\n0\n9\n");
}

TEST_CASE("avail, reread, add, remove and update") {
  Harness h;
  with_processes(h.server);
  h.server.methods["supervisor.getAllConfigInfo"] = [](const Array&) {
    return CallResult::of(Value(Array{Value(Struct{{"name", Value("web")},
                                                   {"group", Value("web")},
                                                   {"inuse", Value(true)},
                                                   {"autostart", Value(true)},
                                                   {"group_prio", Value(999)},
                                                   {"process_prio", Value(999)}})}));
  };
  CHECK(h.run("avail").out == "web                              in use    auto      999:999\n");
  Run r = h.run("avail x");
  CHECK(r.out.rfind("Error: avail accepts no arguments\n", 0) == 0);
  CHECK(r.status == 1);

  h.server.methods["supervisor.reloadConfig"] = [](const Array&) {
    return CallResult::of(Value(Array{Value(Array{Value(Array{Value("new")}), Value(Array{Value("web")}),
                                                  Value(Array{Value("fast")})})}));
  };
  CHECK(h.run("reread").out == "fast: disappeared\nnew: available\nweb: changed\n");

  h.server.methods["supervisor.stopProcessGroup"] = [](const Array&) { return CallResult::of(Value(Array{})); };
  h.server.methods["supervisor.removeProcessGroup"] = [](const Array& p) {
    if (p[0].as_string() == "grp") return CallResult::of_fault(fault::kStillRunning, "STILL_RUNNING");
    if (p[0].as_string() == "nope") return CallResult::of_fault(fault::kBadName, "BAD_NAME");
    return CallResult::of(Value(true));
  };
  h.server.methods["supervisor.addProcessGroup"] = [](const Array& p) {
    if (p[0].as_string() == "active") return CallResult::of_fault(fault::kAlreadyAdded, "ALREADY_ADDED");
    if (p[0].as_string() == "nope") return CallResult::of_fault(fault::kBadName, "BAD_NAME");
    return CallResult::of(Value(true));
  };
  h.server.calls.clear();
  r = h.run("update");
  CHECK(r.out ==
        "fast: stopped\nfast: removed process group\n"
        "web: stopped\nweb: updated process group\n"
        "new: added process group\n");
  CHECK(r.status == 0);
  r = h.run("update nosuch new");
  CHECK(r.out == "ERROR: no such group: nosuch\nnew: added process group\n");
  CHECK(r.status == 1);

  r = h.run("add active");
  CHECK(r.out == "ERROR: process group already active\n");
  CHECK(r.status == 0);
  r = h.run("add nope");
  CHECK(r.out == "ERROR: no such process/group: nope\n");
  CHECK(r.status == 1);
  r = h.run("remove grp");
  CHECK(r.out == "ERROR: process/group still running: grp\n");
  CHECK(r.status == 1);
  r = h.run("remove fast");
  CHECK(r.out == "fast: removed process group\n");
  CHECK(r.status == 0);
}

TEST_CASE("tail and maintail argument handling") {
  Harness h;
  h.server.methods["supervisor.readProcessStdoutLog"] = [](const Array& p) {
    if (p[0].as_string() == "nosuch") return CallResult::of_fault(fault::kBadName, "BAD_NAME");
    return CallResult::of(Value("out:" + std::to_string(p[1].as_int())));
  };
  h.server.methods["supervisor.readProcessStderrLog"] = [](const Array& p) {
    return CallResult::of(Value("err:" + std::to_string(p[1].as_int())));
  };
  h.server.methods["supervisor.readLog"] = [](const Array& p) {
    return CallResult::of(Value("main:" + std::to_string(p[0].as_int())));
  };
  CHECK(h.run("tail web").out == "out:-1600\n");
  CHECK(h.run("tail -30 web stderr").out == "err:-30\n");
  CHECK(h.run("tail web STDERR").out == "err:-1600\n");
  Run r = h.run("tail web bogus");
  CHECK(r.out == "Error: bad channel 'bogus'\n");
  CHECK(r.status == 1);
  r = h.run("tail -x web");
  CHECK(r.out == "Error: bad argument -x\n");
  r = h.run("tail nosuch");
  CHECK(r.out == "nosuch: ERROR (no such process name)\n");
  CHECK(r.status == 1);
  r = h.run("tail -f");
  CHECK(r.out == "Error: tail requires process name\n");
  r = h.run("tail");
  CHECK(r.out.rfind("Error: too few arguments\n", 0) == 0);
  r = h.run("tail a b c d");
  CHECK(r.out.rfind("Error: too many arguments\n", 0) == 0);
  r = h.run("tail -99999999999 web");
  CHECK(r.out.rfind("error: <class 'OverflowError'>, int exceeds XML-RPC limits", 0) == 0);

  h.server.streamed = "line 1\n";
  r = h.run("tail -f web stderr");
  CHECK(r.out == "==> Press Ctrl-C to exit <==\nline 1\n");
  CHECK(h.server.stream_paths.back() == "/logtail/web/stderr");

  CHECK(h.run("maintail").out == "main:-1600\n");
  CHECK(h.run("maintail -5").out == "main:-5\n");
  r = h.run("maintail 5");
  CHECK(r.out == "Error: bad argument 5\n");
  CHECK(r.status == 1);
  r = h.run("maintail -f");
  CHECK(h.server.stream_paths.back() == "/mainlogtail");
}

TEST_CASE("clear names a group argument like supervisorctl does") {
  Harness h;
  h.server.methods["supervisor.clearProcessLogs"] = [](const Array& p) {
    if (p[0].as_string() == "web") return CallResult::of(Value(true));
    return CallResult::of_fault(fault::kBadName, "BAD_NAME");
  };
  Run r = h.run("clear web grp:*");
  CHECK(r.out == "web: cleared\ngrp:None: ERROR (no such process)\n");
  CHECK(r.status == 1);
}

TEST_CASE("command line parsing: unknown syntax, help, EOF, quit") {
  Harness h;
  Run r = h.run("foo-bar x");
  CHECK(r.out == "*** Unknown syntax: foo-bar x\n");
  CHECK(r.status == 1);
  r = h.run("STATUS");
  CHECK(r.out == "*** Unknown syntax: STATUS\n");
  r = h.run("   ");
  CHECK(r.out.empty());
  CHECK(r.status == 0);
  r = h.run("?");
  CHECK(r.out.find("default commands (type help <topic>):\n") != std::string::npos);
  CHECK(r.status == 0);
  CHECK(h.run("help nosuch").out == "*** No help on nosuch\n");
  CHECK(h.run("help EOF").out == "*** No help on EOF\n");
  CHECK_FALSE(h.run("help start").out.empty());
  CHECK(h.run("EOF").out == "\n");
  CHECK(h.run("quit").out == "\n");
}

TEST_CASE("shutdown and reload ask first in interactive mode") {
  Harness h;
  h.options.interactive = true;
  int shutdowns = 0;
  h.server.methods["supervisor.shutdown"] = [&](const Array&) {
    ++shutdowns;
    return CallResult::of(Value(true));
  };
  h.input = {"n"};
  Run r = h.run("shutdown");
  CHECK(r.out == "Really shut the remote supervisord process down y/N? ");
  CHECK(shutdowns == 0);
  h.input = {"yes"};
  r = h.run("shutdown");
  CHECK(r.out == "Really shut the remote supervisord process down y/N? Shut down\n");
  CHECK(shutdowns == 1);
  r = h.run("reload");  // no input left: end of file
  CHECK(r.out ==
        "Really restart the remote supervisord process y/N? error: <class 'EOFError'>, EOF when reading a line: "
        "file: /usr/lib/python3/dist-packages/supervisor/supervisorctl.py line: 1027\n");
  CHECK(r.status == 1);
}

TEST_CASE("open switches servers and keeps the exit status") {
  Harness h;
  Run r = h.run("open ftp://x");
  CHECK(r.out == "ERROR: url must be http:// or unix://\n");
  CHECK(r.status == 1);
  h.server.down = transport(xmlrpc::TransportError::Kind::NoSuchFile, ENOENT);
  r = h.run("open unix:///elsewhere");
  CHECK(r.out == "unix:///elsewhere no such file\n");
  CHECK(r.status == 0);
}

TEST_CASE("completion offers commands, then process or group names") {
  Harness h;
  with_processes(h.server);
  std::ostringstream out, err;
  Terminal t;
  t.out = &out;
  t.err = &err;
  FakeServer* s = &h.server;
  Controller c(h.options, [s](const std::string&, const std::string&, const std::string&) {
    return std::unique_ptr<Rpc>(new FakeRpc(s));
  }, t);
  CHECK(c.complete("st", "st") == std::vector<std::string>{"start ", "status ", "stop "});
  CHECK(c.complete("", "start ") == std::vector<std::string>{"fast ", "grp:a ", "grp:* ", "grp:b ", "web "});
  CHECK(c.complete("g", "remove g") == std::vector<std::string>{"grp "});
  CHECK(c.complete("w", "status w") == std::vector<std::string>{"web "});
}

TEST_CASE("status --json: the process info structs as JSON, errors on stderr, plain status's exit statuses") {
  Harness h;
  with_processes(h.server);
  Run r = h.run("status --json web");
  CHECK(r.out ==
        "[\n  {\"name\": \"web\", \"group\": \"web\", \"state\": 20, \"statename\": \"RUNNING\", "
        "\"description\": \"pid 9, uptime 1 day, 0:00:01\", \"pid\": 9}\n]\n");
  CHECK(r.err.empty());
  CHECK(r.status == 0);

  r = h.run("status --json");
  CHECK(r.status == 3);
  std::size_t listed = 0;
  for (auto at = r.out.find("\"statename\""); at != std::string::npos; at = r.out.find("\"statename\"", at + 1)) ++listed;
  CHECK(listed == 4);

  // The flag may come anywhere; unknown names go to stderr, stdout stays JSON.
  r = h.run("status nosuch --json grp:*");
  CHECK(r.err == "nosuch: ERROR (no such process)\n");
  CHECK(r.out.rfind("[\n  {\"name\": \"a\", \"group\": \"grp\"", 0) == 0);
  CHECK(r.status == 3);

  r = h.run("status --json nosuch");
  CHECK(r.out == "[]\n");
  CHECK(r.status == 4);
}

TEST_CASE("avail --json: getAllConfigInfo as JSON; other arguments are still refused") {
  Harness h;
  h.server.methods["supervisor.getAllConfigInfo"] = [](const Array&) {
    return CallResult::of(Value(Array{Value(Struct{{"name", Value("web")}, {"group", Value("web")},
                                                   {"inuse", Value(true)}, {"autostart", Value(false)}})}));
  };
  Run r = h.run("avail --json");
  CHECK(r.out == "[\n  {\"name\": \"web\", \"group\": \"web\", \"inuse\": true, \"autostart\": false}\n]\n");
  CHECK(r.status == 0);
  r = h.run("avail --yaml");
  CHECK(r.out.rfind("Error: avail accepts no arguments\n", 0) == 0);
  CHECK(r.status == 1);
}
