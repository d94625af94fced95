// Expected values below were checked against Python 3.11's
// RawConfigParser(inline_comment_prefixes=(';','#'), strict=False), the
// parser supervisord 4.2.5 uses.
#include "config/ini_reader.hpp"

#include <doctest/doctest.h>

#include "test_files.hpp"

using sup::config::IniDocument;

namespace {

IniDocument parse_ok(const std::string& text) {
  IniDocument doc;
  sup::Status s = doc.read_string(text, "/etc/test.conf");
  INFO(s.error());
  REQUIRE(s.ok());
  return doc;
}

std::string value(const IniDocument& doc, const std::string& section, const std::string& key) {
  auto v = doc.get(section, key);
  INFO("missing " << section << "." << key);
  REQUIRE(v.has_value());
  return *v;
}

}  // namespace

TEST_CASE("sections keep file order and names are case-sensitive, keys are lower-cased") {
  auto doc = parse_ok("[supervisord]\nLogFile = /tmp/x.log\n[program:Web]\nCommand=/bin/cat\n[program:web]\ncommand=/bin/true\n");
  CHECK(doc.section_names() == std::vector<std::string>{"supervisord", "program:Web", "program:web"});
  CHECK(value(doc, "supervisord", "logfile") == "/tmp/x.log");
  CHECK(value(doc, "supervisord", "LOGFILE") == "/tmp/x.log");  // lookups are case-insensitive too
  CHECK(value(doc, "program:Web", "command") == "/bin/cat");
  CHECK(value(doc, "program:web", "command") == "/bin/true");
  CHECK_FALSE(doc.has_section("program:WEB"));
}

TEST_CASE("'=' and ':' delimit, the first one wins, whitespace around is stripped") {
  auto doc = parse_ok("[s]\na = 1\nb: 2\nD: e=f\nurl=http://localhost:9001\nspaced   =   v  w  \n");
  CHECK(value(doc, "s", "a") == "1");
  CHECK(value(doc, "s", "b") == "2");
  CHECK(value(doc, "s", "d") == "e=f");
  CHECK(value(doc, "s", "url") == "http://localhost:9001");
  CHECK(value(doc, "s", "spaced") == "v  w");
}

TEST_CASE("inline comments need whitespace before ';' or '#'") {
  auto doc = parse_ok(
      "[s]\n"
      "a=foo ;c\n"
      "b=foo;bar\n"
      "c=foo #hash\n"
      "d=x#y\n"
      "e=foo\t;tab\n"
      "f=b;c;d ;e #f\n"
      "; full line\n"
      "# full line\n"
      "   ; indented full line\n"
      "g= ;only a comment\n");
  CHECK(value(doc, "s", "a") == "foo");
  CHECK(value(doc, "s", "b") == "foo;bar");
  CHECK(value(doc, "s", "c") == "foo");
  CHECK(value(doc, "s", "d") == "x#y");
  CHECK(value(doc, "s", "e") == "foo");
  // configparser's round-based search stops at the first round that finds a
  // comment: here the '#', so " ;e" stays in the value.
  CHECK(value(doc, "s", "f") == "b;c;d ;e");
  CHECK(value(doc, "s", "g") == "");
  CHECK(doc.options("s").size() == 7);
}

TEST_CASE("indented lines continue a value, joined with newlines, blank lines kept inside") {
  auto doc = parse_ok(
      "[s]\n"
      "command=/bin/cat\n"
      "   --flag ; comment\n"
      "\n"
      "   more\n"
      "  ; indented comment\n"
      "   last\n"
      "\n"
      "next=1\n"
      "x=\n"
      "  a\n");
  CHECK(value(doc, "s", "command") == "/bin/cat\n--flag\n\nmore\nlast");
  CHECK(value(doc, "s", "next") == "1");
  CHECK(value(doc, "s", "x") == "\na");
}

TEST_CASE("an indented line at the same depth as its predecessor is a new key") {
  auto same = parse_ok("[s]\n  x=1\n  y=2\n");
  CHECK(value(same, "s", "x") == "1");
  CHECK(value(same, "s", "y") == "2");
  auto deeper = parse_ok("[s]\nx=1\n  y=2\n");
  CHECK(value(deeper, "s", "x") == "1\ny=2");
  CHECK_FALSE(deeper.get("s", "y").has_value());
}

TEST_CASE("a later duplicate key wins and a duplicate section merges into the first") {
  auto doc = parse_ok("[s]\nx=1\n[s]\nx=2\ny=3\n[t]\n[s]\nz=4\n");
  CHECK(doc.section_names() == std::vector<std::string>{"s", "t"});
  CHECK(value(doc, "s", "x") == "2");
  CHECK(value(doc, "s", "y") == "3");
  CHECK(value(doc, "s", "z") == "4");
  CHECK(doc.options("t").empty());
  CHECK(doc.section("s")->options.size() == 3);
}

TEST_CASE("consecutive duplicate keys replace, they are not joined") {
  auto doc = parse_ok("[s]\ncommand=first\ncommand=second\n");
  CHECK(value(doc, "s", "command") == "second");
}

TEST_CASE("[DEFAULT] keys are visible in every section unless overridden") {
  auto doc = parse_ok("[DEFAULT]\nd=1\n[s]\nx=2\n[t]\nd=3\n");
  CHECK(doc.section_names() == std::vector<std::string>{"s", "t"});
  CHECK(value(doc, "s", "d") == "1");
  CHECK(value(doc, "t", "d") == "3");
  CHECK(doc.options("s") == std::vector<std::string>{"x", "d"});
}

TEST_CASE("section headers: trailing text and comments after ']' are ignored") {
  auto doc = parse_ok("[a] trailing\nx=1\n[b]]\ny=2\n[program:c] ; comment\nz=3\n");
  CHECK(doc.section_names() == std::vector<std::string>{"a", "b]", "program:c"});
  CHECK(value(doc, "b]", "y") == "2");
  CHECK(value(doc, "program:c", "z") == "3");
}

TEST_CASE("lines longer than inih's 200-byte buffer are kept intact") {
  std::string long_command = "/usr/bin/python3 -c 'import sys; print(sys.argv)'";
  while (long_command.size() < 330) long_command += " --option-number-" + std::to_string(long_command.size());
  std::string long_env = "A=1";
  while (long_env.size() < 500) long_env += ",KEY_" + std::to_string(long_env.size()) + "=\"value;with#chars\"";
  std::string long_section = "program:" + std::string(120, 'x');
  auto doc = parse_ok("[" + long_section + "]\ncommand=" + long_command + "\nenvironment=A=1,\n  " + long_env +
                      "\nnext=ok\n");
  CHECK(doc.section_names() == std::vector<std::string>{long_section});
  CHECK(value(doc, long_section, "command") == long_command);
  CHECK(value(doc, long_section, "environment") == "A=1,\n" + long_env);
  CHECK(value(doc, long_section, "next") == "ok");
}

TEST_CASE("CRLF line endings and a UTF-8 BOM are accepted") {
  auto doc = parse_ok("\xEF\xBB\xBF[s]\r\nx=1\r\ny=2\r\n  cont\r\n");
  CHECK(value(doc, "s", "x") == "1");
  CHECK(value(doc, "s", "y") == "2\ncont");
}

TEST_CASE("values that look like inih syntax survive") {
  auto doc = parse_ok("[s]\n[x=1\nsemi=a;b\nctl=\x01" "3\nempty=\n");
  CHECK(value(doc, "s", "[x") == "1");
  CHECK(value(doc, "s", "semi") == "a;b");
  CHECK(value(doc, "s", "ctl") == "\x01" "3");
  CHECK(value(doc, "s", "empty") == "");
}

TEST_CASE("a key without a value is an error naming file, line, section and text") {
  IniDocument doc;
  sup::Status s = doc.read_string("[supervisord]\n\n[program:web]\ncommand=/bin/true\nnovalue\n", "/etc/x.conf");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().find("/etc/x.conf") != std::string::npos);
  CHECK(s.error().find("line 5") != std::string::npos);
  CHECK(s.error().find("'novalue'") != std::string::npos);
  CHECK(s.error().find('\n') == std::string::npos);
}

TEST_CASE("an option name is required before the delimiter") {
  IniDocument doc;
  sup::Status s = doc.read_string("[s]\n=1\n", "/etc/x.conf");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().find("line 2") != std::string::npos);
}

TEST_CASE("text before the first section header is an error") {
  IniDocument doc;
  sup::Status s = doc.read_string("x=1\n[s]\n", "/etc/x.conf");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().find("line 1") != std::string::npos);
  CHECK(s.error().find("section") != std::string::npos);
}

TEST_CASE("reading a second file merges into the document and records the value's file") {
  sup::config::test::TempDir dir;
  std::string a = dir.write("a.conf", "[program:x]\ncommand=/bin/a\npriority=5\n");
  std::string b = dir.write("b.conf", "[program:x]\n\n\ncommand=/bin/b\n[program:y]\ncommand=/bin/y\n");
  IniDocument doc;
  REQUIRE(doc.read_file(a).ok());
  REQUIRE(doc.read_file(b).ok());
  CHECK(doc.section_names() == std::vector<std::string>{"program:x", "program:y"});
  CHECK(value(doc, "program:x", "command") == "/bin/b");
  CHECK(doc.find("program:x", "command")->file == b);
  CHECK(doc.find("program:x", "command")->line == 4);
  CHECK(doc.find("program:x", "priority")->file == a);
  CHECK(doc.section("program:x")->file == a);
  CHECK(doc.section("program:y")->file == b);
}

TEST_CASE("a missing file is an error naming it") {
  IniDocument doc;
  sup::Status s = doc.read_file("/nonexistent/dir/supervisord.conf");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().find("/nonexistent/dir/supervisord.conf") != std::string::npos);
}
