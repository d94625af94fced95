// XML-RPC codec: value round trips, Python interoperability, malformed input.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "xmlrpc/codec.hpp"

using namespace xmlrpc;

namespace {

const char* kPython = "/usr/bin/python3";

Array sample_params() {
  return Array{
      Value(42),
      Value(-2147483647 - 1),
      Value(2147483647),
      Value(true),
      Value(false),
      Value(3.25),
      Value(-0.5),
      Value(1e16),
      Value(""),
      Value("esc <&> \"q\" 'a' ]]>"),
      Value("   "),
      Value("tab\tnl\n"),
      Value("cr\rx"),
      Value("unicode \xc3\xa9\xe2\x82\xac"),
      Value(Binary{std::string("\x00\x01\xff", 3)}),
      Value(Binary{""}),
      Value(DateTime{"20260101T10:00:00"}),
      Value(Array{}),
      Value(Struct{}),
      Value(Struct{{"zeta", Value(1)},
                   {"alpha", Value(Array{Value("x"), Value(Struct{{"n", Value(Nil{})}}), Value(false)})},
                   {"mid", Value("<m>")}}),
      Value(Nil{}),
  };
}

Value response_value(const std::string& xml) {
  auto r = decode_response(xml);
  REQUIRE_MESSAGE(r.ok(), r.error());
  REQUIRE_FALSE(r->is_fault);
  return r->value;
}

std::string wrap_value(const std::string& value_xml) {
  return "<?xml version='1.0'?><methodResponse><params><param>" + value_xml +
         "</param></params></methodResponse>";
}

struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/xmlrpc_codec_XXXXXX";
    int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = tmpl;
    std::ofstream(path, std::ios::binary) << content;
  }
  ~TempFile() { std::filesystem::remove(path); }
};

// Runs a Python snippet with argv[1] = a file holding `input`; returns stdout.
std::string run_python(const std::string& script, const std::string& input) {
  TempFile in(input);
  TempFile code(script);
  std::string cmd = std::string(kPython) + " " + code.path.string() + " " + in.path.string();
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  REQUIRE_MESSAGE(rc == 0, "python failed on: " << input);
  return out;
}

bool have_python() {
  if (::access(kPython, X_OK) == 0) return true;
  MESSAGE("skipped: " << kPython << " is absent, Python interoperability not checked");
  return false;
}

}  // namespace

TEST_CASE("call and response round trip through our own decoder") {
  Array params = sample_params();
  auto call = decode_call(encode_call("supervisor.echo", params));
  REQUIRE_MESSAGE(call.ok(), call.error());
  CHECK(call->method == "supervisor.echo");
  REQUIRE(call->params.size() == params.size());
  for (std::size_t i = 0; i < params.size(); ++i) CHECK_MESSAGE(call->params[i] == params[i], "param " << i);

  Value big{Array(params)};
  CHECK(response_value(encode_response(big)) == big);

  // int64 values survive between our own peers.
  Value wide(static_cast<long long>(1) << 40);
  CHECK(response_value(encode_response(wide)).as_int() == (1LL << 40));
}

TEST_CASE("struct member order is kept") {
  Value s(Struct{{"b", Value(1)}, {"a", Value(2)}, {"c", Value(3)}});
  Value back = response_value(encode_response(s));
  REQUIRE(back.as_struct().size() == 3);
  CHECK(back.as_struct()[0].first == "b");
  CHECK(back.as_struct()[1].first == "a");
  CHECK(back.as_struct()[2].first == "c");
}

TEST_CASE("emitter escapes like Python and protects carriage returns") {
  std::string xml = encode_response(Value("a<b>&c\rd"));
  CHECK(xml.find("<string>a&lt;b&gt;&amp;c&#13;d</string>") != std::string::npos);
  CHECK(encode_response(Value(true)).find("<boolean>1</boolean>") != std::string::npos);
  CHECK(encode_response(Value(7)).find("<value><int>7</int></value>") != std::string::npos);
  CHECK(encode_response(Value(1.0)).find("<double>1.0</double>") != std::string::npos);
  CHECK(encode_response(Value()).find("<nil/>") != std::string::npos);
}

TEST_CASE("faults encode and decode as faultCode/faultString") {
  std::string xml = encode_fault(Fault{10, "BAD_NAME: nope"});
  auto r = decode_response(xml);
  REQUIRE_MESSAGE(r.ok(), r.error());
  CHECK(r->is_fault);
  CHECK(r->fault.code == 10);
  CHECK(r->fault.message == "BAD_NAME: nope");
  // Malformed faults are rejected.
  CHECK_FALSE(decode_response("<methodResponse><fault><value><struct><member><name>faultCode</name>"
                              "<value><string>x</string></value></member></struct></value></fault>"
                              "</methodResponse>")
                  .ok());
}

// Python's xmlrpc.client.loads gives these (checked with Debian's Python 3.11).
TEST_CASE("whitespace beside CDATA, comments and processing instructions is text") {
  auto one = [](const std::string& inner) {
    auto r = decode_response("<?xml version=\"1.0\"?><methodResponse><params><param><value>" + inner +
                             "</value></param></params></methodResponse>");
    REQUIRE_MESSAGE(r.ok(), r.error());
    return r->value;
  };
  CHECK(one("<string>a<![CDATA[b]]> </string>") == Value("ab "));
  CHECK(one("<string> <![CDATA[b]]> </string>") == Value(" b "));
  CHECK(one("<string> <!-- c --> </string>") == Value("  "));
  CHECK(one("<string> <?pi x?> </string>") == Value("  "));
  // Between elements it still means nothing, and alone it is the value.
  CHECK(one("\n <string>  </string>\n") == Value("  "));
  CHECK(one("<struct>\n <member>\n <name> </name>\n <value><int>1</int></value>\n </member>\n</struct>") ==
        Value(Struct{{" ", Value(1)}}));
}

TEST_CASE("parser accepts the variants found on the wire") {
  auto call = decode_call(
      "<?xml version=\"1.0\"?>\n<methodCall>\n  <methodName>t.m</methodName>\n  <params>\n"
      "  <param><value>untyped text</value></param>\n"
      "  <param><value><i4>7</i4></value></param>\n"
      "  <param><value><i8>-9000000000</i8></value></param>\n"
      "  <param><value><int> 12 </int></value></param>\n"
      "  <param><value><string></string></value></param>\n"
      "  <param><value></value></param>\n"
      "  <param><value><string>   </string></value></param>\n"
      "  <param><value>  <boolean>0</boolean>  </value></param>\n"
      "  <param><value><ex:nil xmlns:ex=\"http://ws.apache.org/xmlrpc/namespaces/extensions\"/></value></param>\n"
      "  <param><value><array><value><int>1</int></value></array></value></param>\n"
      "  <param><value><base64>AAH/\n</base64></value></param>\n"
      "  <param><value><string><![CDATA[<raw>]]></string></value></param>\n"
      "  <param><value><double>+2.5</double></value></param>\n"
      "  </params>\n</methodCall>\n");
  REQUIRE_MESSAGE(call.ok(), call.error());
  const Array& p = call->params;
  REQUIRE(p.size() == 13);
  CHECK(p[0] == Value("untyped text"));
  CHECK(p[1] == Value(7));
  CHECK(p[2] == Value(-9000000000LL));
  CHECK(p[3] == Value(12));
  CHECK(p[4] == Value(""));
  CHECK(p[5] == Value(""));
  CHECK(p[6] == Value("   "));
  CHECK(p[7] == Value(false));
  CHECK(p[8].is_nil());
  CHECK(p[9] == Value(Array{Value(1)}));
  CHECK(p[10] == Value(Binary{std::string("\x00\x01\xff", 3)}));
  CHECK(p[11] == Value("<raw>"));
  CHECK(p[12] == Value(2.5));

  // A call without <params> has no parameters.
  auto bare = decode_call("<methodCall><methodName>system.listMethods</methodName></methodCall>");
  REQUIRE(bare.ok());
  CHECK(bare->params.empty());
}

TEST_CASE("malformed documents give one-line errors") {
  struct Case {
    std::string xml;
    std::string expect;  // substring of the error
  };
  const Case cases[] = {
      {"<methodCall><methodName>x</methodName>", "malformed XML"},
      {"", "malformed XML"},
      {"<methodResponse/>", "exactly one"},
      {"<foo/>", "expected <methodResponse>"},
      {wrap_value("<value><boolean>true</boolean></value>"), "bad <boolean> value 'true'"},
      {wrap_value("<value><boolean>2</boolean></value>"), "bad <boolean>"},
      {wrap_value("<value><int>12a</int></value>"), "bad <int> value '12a'"},
      {wrap_value("<value><int></int></value>"), "bad <int>"},
      {wrap_value("<value><int>99999999999999999999</int></value>"), "bad <int>"},
      {wrap_value("<value><double>x</double></value>"), "bad <double>"},
      {wrap_value("<value><float>1</float></value>"), "unknown value type <float>"},
      {wrap_value("<value><base64>@@@@</base64></value>"), "bad <base64>"},
      {wrap_value("<value><struct><member><value><int>1</int></value></member></struct></value>"),
       "without <name>"},
      {wrap_value("<value><struct><member><name>k</name></member></struct></value>"), "'k' without <value>"},
      {wrap_value("<value><int>1</int><int>2</int></value>"), "more than one"},
      {wrap_value("<value>x<int>1</int></value>"), "mixes text and <int>"},
      {wrap_value("<value><int>1</int>x</value>"), "mixes text and <int>"},
      {"<methodResponse><params></params></methodResponse>", "carries 0 values"},
  };
  for (const auto& c : cases) {
    auto r = decode_response(c.xml);
    REQUIRE_FALSE_MESSAGE(r.ok(), c.xml);
    CHECK_MESSAGE(r.error().find(c.expect) != std::string::npos, r.error() << " (for " << c.xml << ")");
    CHECK(r.error().find('\n') == std::string::npos);
  }
  auto no_name = decode_call("<methodCall><params/></methodCall>");
  REQUIRE_FALSE(no_name.ok());
  CHECK(no_name.error().find("no <methodName>") != std::string::npos);
}

TEST_CASE("deep nesting is refused instead of exhausting the stack") {
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "<value><array><data>";
  for (int i = 0; i < 5000; ++i) deep += "</data></array></value>";
  auto r = decode_response(wrap_value(deep));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().find("nested deeper") != std::string::npos);
}

TEST_CASE("Python's xmlrpc.client reads what we write and we read what it writes") {
  if (!have_python()) return;
  // Python loads our methodCall, checks types, then dumps the same params
  // back as a methodResponse (an array) that we must decode to the original.
  const std::string script = R"PY(
import sys, xmlrpc.client as x
data = open(sys.argv[1], 'rb').read().decode('utf-8')
params, method = x.loads(data, use_builtin_types=True)
assert method == 'supervisor.echo', method
assert params[12] == 'cr\rx', repr(params[12])
assert params[9] == 'esc <&> "q" \'a\' ]]>', repr(params[10])
assert params[6] == -0.5 and isinstance(params[6], float)
assert params[3] is True and params[4] is False
assert params[14] == b'\x00\x01\xff', repr(params[14])
assert list(params[19].keys()) == ['zeta', 'alpha', 'mid']
assert params[20] is None
sys.stdout.write(x.dumps((list(params),), methodresponse=True, allow_none=True))
)PY";
  Array params = sample_params();
  std::string back = run_python(script, encode_call("supervisor.echo", params));
  Value v = response_value(back);
  REQUIRE(v.is_array());
  REQUIRE(v.as_array().size() == params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    // Python writes \r raw, so XML turns it into \n on the way back: the
    // known limitation of xmlrpc.client that our emitter avoids.
    if (params[i] == Value("cr\rx")) {
      CHECK(v.as_array()[i] == Value("cr\nx"));
      continue;
    }
    CHECK_MESSAGE(v.as_array()[i] == params[i], "param " << i);
  }
}

TEST_CASE("Python reads our faults and wide integers") {
  if (!have_python()) return;
  const std::string fault_script = R"PY(
import sys, xmlrpc.client as x
try:
    x.loads(open(sys.argv[1]).read())
except x.Fault as f:
    print(f.faultCode, f.faultString)
)PY";
  CHECK(run_python(fault_script, encode_fault(Fault{70, "NOT_RUNNING: foo & <bar>"})) ==
        "70 NOT_RUNNING: foo & <bar>\n");
  const std::string value_script = R"PY(
import sys, xmlrpc.client as x
print(repr(x.loads(open(sys.argv[1]).read())[0][0]))
)PY";
  CHECK(run_python(value_script, encode_response(Value(1LL << 40))) == "1099511627776\n");
  CHECK(run_python(value_script, encode_response(Value(Struct{{"b", Value(0.1)}, {"a", Value("")}}))) ==
        "{'b': 0.1, 'a': ''}\n");
}
