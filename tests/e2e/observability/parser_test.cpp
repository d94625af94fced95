// The suite's strict Prometheus parser must itself reject what a scraper
// would reject; otherwise the /metrics tests could not fail.
#include <doctest/doctest.h>

#include "prom_parser.hpp"

namespace {

bool rejects(const std::string& text) {
  try {
    prom::parse(text);
    return false;
  } catch (const prom::ParseError&) {
    return true;
  }
}

const std::string kHead = "# HELP m A metric.\n# TYPE m gauge\n";

}  // namespace

TEST_CASE("the test parser accepts a well-formed exposition and unescapes labels") {
  auto e = prom::parse(kHead + "m{a=\"x\\\\y\\\"z\\nw\",b=\"\"} 1.5\nm{a=\"2\"} -Inf\n# HELP c C.\\nhelp\n# TYPE c counter\nc 3 1700000000000\n");
  REQUIRE(e.families.size() == 2);
  CHECK(e.families[0].samples[0].labels.at("a") == "x\\y\"z\nw");
  CHECK(e.value("m", {{"a", "x\\y\"z\nw"}, {"b", ""}}) == 1.5);
  CHECK(e.families[1].help == "C.\nhelp");
  CHECK(e.families[1].samples[0].timestamp == 1700000000000);
}

TEST_CASE("the test parser rejects every kind of malformed exposition") {
  CHECK(rejects(""));
  CHECK(rejects(kHead + "m 1"));                               // no final newline
  CHECK(rejects("m 1\n"));                                     // undeclared family
  CHECK(rejects("# TYPE m gauge\nm 1\n"));                     // TYPE without HELP
  CHECK(rejects("# HELP m x\nm 1\n"));                         // sample before TYPE
  CHECK(rejects("# HELP m x\n# TYPE m gauge\n# TYPE m gauge\nm 1\n"));  // TYPE twice
  CHECK(rejects("# HELP m x\n# TYPE m bogus\nm 1\n"));         // unknown type
  CHECK(rejects(kHead));                                       // family without samples
  CHECK(rejects(kHead + "m{a=\"x\"} 1\nm{a=\"x\"} 2\n"));      // duplicate series
  CHECK(rejects(kHead + "m{a=\"x\",a=\"y\"} 1\n"));            // label twice
  CHECK(rejects(kHead + "m{a=\"x\\t\"} 1\n"));                 // invalid escape
  CHECK(rejects(kHead + "m{a=\"x} 1\n"));                      // unterminated value
  CHECK(rejects(kHead + "m{1a=\"x\"} 1\n"));                   // bad label name
  CHECK(rejects(kHead + "m{__a=\"x\"} 1\n"));                  // reserved label name
  CHECK(rejects(kHead + "m{a=x} 1\n"));                        // unquoted value
  CHECK(rejects(kHead + "m one\n"));                           // value not a float
  CHECK(rejects(kHead + "m 0x10\n"));                          // hex is not allowed
  CHECK(rejects(kHead + "m 1 12.5\n"));                        // timestamp not an int
  CHECK(rejects(kHead + "m{a=\"1\"} 1\n# HELP n N.\n# TYPE n gauge\nn 1\nm{a=\"2\"} 1\n"));  // not contiguous
  CHECK(rejects("# HELP c C.\n# TYPE c counter\nc -1\n"));     // negative counter
  CHECK(rejects("# HELP m x\\q\n# TYPE m gauge\nm 1\n"));      // bad HELP escape
  CHECK(rejects("# HELP 1m x\n# TYPE 1m gauge\n1m 1\n"));      // bad metric name
  CHECK(rejects(kHead + "m 1\r\n"));                           // CR
}
