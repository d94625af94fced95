#include <doctest/doctest.h>

#include "ctl/format.hpp"

using namespace sup::ctl;
using xmlrpc::Struct;
using xmlrpc::Value;

namespace {

Value info(const std::string& group, const std::string& name, const std::string& statename,
           const std::string& description) {
  return Value(Struct{{"name", Value(name)},
                      {"group", Value(group)},
                      {"statename", Value(statename)},
                      {"description", Value(description)}});
}

}  // namespace

TEST_CASE("status lines pad the name to 33 columns and the state to 10") {
  auto lines = status_lines({info("web", "web", "RUNNING", "pid 42, uptime 0:00:08"),
                             info("grp", "a", "STOPPED", "Not started")});
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "web                              RUNNING   pid 42, uptime 0:00:08");
  CHECK(lines[1] == "grp:a                            STOPPED   Not started");
}

TEST_CASE("status lines widen the name column for long names, padded by code points") {
  const std::string long_name(40, 'x');
  auto lines = status_lines({info(long_name, long_name, "FATAL", "Exited too quickly"),
                             info("\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9", "STARTING", "")});
  CHECK(lines[0] == long_name + "   FATAL     Exited too quickly");
  // "été" is 3 characters wide though 5 bytes long; the empty description leaves trailing padding.
  CHECK(lines[1] == "\xc3\xa9t\xc3\xa9" + std::string(40, ' ') + "STARTING  ");
}

TEST_CASE("avail lines") {
  Value ci(Struct{{"name", Value("a")},
                  {"group", Value("grp")},
                  {"inuse", Value(true)},
                  {"autostart", Value(false)},
                  {"group_prio", Value(5)},
                  {"process_prio", Value(999)}});
  CHECK(avail_line(ci) == "grp:a                            in use    manual    5:999");
  Value unused(Struct{{"name", Value("n")},
                      {"group", Value("n")},
                      {"inuse", Value(false)},
                      {"autostart", Value(true)},
                      {"group_prio", Value(999)},
                      {"process_prio", Value(999)}});
  CHECK(avail_line(unused) == "n                                avail     auto      999:999");
}

TEST_CASE("namespecs") {
  CHECK(make_namespec("a", "a") == "a");
  CHECK(make_namespec("g", "a") == "g:a");
  CHECK(split_namespec("g:*").second == std::nullopt);
  CHECK(split_namespec("g:").second == std::nullopt);
  CHECK(split_namespec("g:*").first == "g");
  CHECK(split_namespec("g:a:b").second == std::optional<std::string>("a:b"));
  CHECK(split_namespec("a").first == "a");
  CHECK(split_namespec("a").second == std::optional<std::string>("a"));
}

TEST_CASE("help index is laid out like cmd.Cmd.print_topics") {
  auto lines = help_index_lines();
  REQUIRE(lines.size() == 7);
  CHECK(lines[0] == "");
  CHECK(lines[1] == "default commands (type help <topic>):");
  CHECK(lines[2] == "=====================================");
  CHECK(lines[3] == "add    exit      open  reload  restart   start   tail   ");
  CHECK(lines[4] == "avail  fg        pid   remove  shutdown  status  update ");
  CHECK(lines[5] == "clear  maintail  quit  reread  signal    stop    version");
  CHECK(lines[6] == "");
}

TEST_CASE("columnize falls back to one word per row when nothing fits") {
  auto lines = columnize({std::string(50, 'a'), std::string(50, 'b')}, 79);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == std::string(50, 'a'));
  CHECK(columnize({"x", "y", "z"}, 79) == std::vector<std::string>{"x  y  z"});
}

TEST_CASE("python int parsing as tail -N and maintail -N use it") {
  CHECK(py_int("100").value == 100);
  CHECK(py_int("+7").value == 7);
  CHECK(py_int("-5").value == -5);
  CHECK(py_int("1_000").value == 1000);
  CHECK_FALSE(py_int("1__0").ok);
  CHECK_FALSE(py_int("_1").ok);
  CHECK_FALSE(py_int("").ok);
  CHECK_FALSE(py_int("f").ok);
  CHECK_FALSE(py_int("1x").ok);
  CHECK(py_int("99999999999999999999999").overflow);
}

TEST_CASE("python repr of strings") {
  CHECK(py_repr("bogus") == "'bogus'");
  CHECK(py_repr("it's") == "\"it's\"");
  CHECK(py_repr("a'\"b") == "'a\\'\"b'");
  CHECK(py_repr("t\tn\n") == "'t\\tn\\n'");
}

TEST_CASE("result messages") {
  CHECK(start_result_message(fault::kSuccess, "a") == "a: started");
  CHECK(start_result_message(fault::kAlreadyStarted, "a") == "a: ERROR (already started)");
  CHECK(start_result_message(fault::kSpawnError, "g:a") == "g:a: ERROR (spawn error)");
  CHECK(start_result_message(fault::kFailed, "a") == std::nullopt);
  CHECK(signal_result_message(fault::kSuccess, "a", "", "stopped") == "a: stopped");
  CHECK(signal_result_message(fault::kFailed, "a", "FAILED: boom", "stopped") == "FAILED: boom");
  CHECK(signal_result_message(fault::kBadSignal, "a", "", "signalled") == "a: ERROR (bad signal name)");
  CHECK(clear_result_message(fault::kFailed, "a") == "a: ERROR (failed)");
}

TEST_CASE("reread lines are sorted and a later list wins") {
  CHECK(reread_lines({}, {}, {}) == std::vector<std::string>{"No config updates to processes"});
  CHECK(reread_lines({"new", "both"}, {"b"}, {"both", "a"}) ==
        std::vector<std::string>{"a: disappeared", "b: changed", "both: disappeared", "new: available"});
}

TEST_CASE("python-style error lines for unhandled failures") {
  xmlrpc::TransportError e;
  e.kind = xmlrpc::TransportError::Kind::NoSuchFile;
  e.err = 2;
  CHECK(transport_error_line(e, "unix:///x") ==
        "error: <class 'FileNotFoundError'>, [Errno 2] No such file or directory: file: "
        "/usr/lib/python3/dist-packages/supervisor/xmlrpc.py line: 557");
  e.kind = xmlrpc::TransportError::Kind::Refused;
  CHECK(transport_error_line(e, "http://127.0.0.1:1") ==
        "error: <class 'ConnectionRefusedError'>, [Errno 111] Connection refused: file: "
        "/usr/lib/python3.11/socket.py line: 836");
  e.kind = xmlrpc::TransportError::Kind::AuthRequired;
  e.http_status = 401;
  CHECK(transport_error_line(e, "unix:///x") ==
        "error: <class 'xmlrpc.client.ProtocolError'>, <ProtocolError for 127.0.0.1/RPC2: 401 Unauthorized>: "
        "file: /usr/lib/python3/dist-packages/supervisor/xmlrpc.py line: 539");
  CHECK(fault_error_line({2, "INCORRECT_PARAMETERS"}) ==
        "error: <class 'xmlrpc.client.Fault'>, <Fault 2: 'INCORRECT_PARAMETERS'>: file: "
        "/usr/lib/python3.11/xmlrpc/client.py line: 668");
}
