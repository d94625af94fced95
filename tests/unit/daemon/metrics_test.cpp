// The /metrics renderer and the readiness report on a FakeRuntime: escaping
// of label values and help text, number formatting, series per process.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "../process/fake_runtime.hpp"
#include "daemon/metrics.hpp"

using namespace std::chrono_literals;
using sup::metrics::escape_help;
using sup::metrics::escape_label_value;
using sup::metrics::format_value;
using sup::testing::group;
using sup::testing::Harness;
using sup::testing::program;

namespace {

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

sup::metrics::DaemonFacts facts() {
  sup::metrics::DaemonFacts f;
  f.start_time = 1700000000.5;
  f.uptime = 12.25;
  f.resident_bytes = 4096;
  f.open_fds = 7;
  f.version = "1.2.3";
  return f;
}

}  // namespace

TEST_CASE("label values escape backslash, double quote and newline, nothing else") {
  CHECK(escape_label_value("plain") == "plain");
  CHECK(escape_label_value("a\\b") == "a\\\\b");
  CHECK(escape_label_value("say \"hi\"") == "say \\\"hi\\\"");
  CHECK(escape_label_value("l1\nl2") == "l1\\nl2");
  CHECK(escape_label_value("tab\there, caf\xc3\xa9") == "tab\there, caf\xc3\xa9");
  CHECK(escape_help("a \"quoted\" \\ help\nline") == "a \"quoted\" \\\\ help\\nline");
}

TEST_CASE("values: integers exactly, fractions round-trip, special values by name") {
  CHECK(format_value(0) == "0");
  CHECK(format_value(-1) == "-1");
  CHECK(format_value(1700000000) == "1700000000");
  CHECK(format_value(1700000000.25) == "1700000000.25");
  CHECK(std::stod(format_value(0.1)) == 0.1);
  CHECK(format_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(std::stod(format_value(1e300)) == 1e300);
}

TEST_CASE("a family is HELP, TYPE, then its samples") {
  sup::metrics::TextWriter w;
  w.begin_family("x_total", sup::metrics::TextWriter::Type::Counter, "Help with \\ and\nnewline.");
  w.sample({{"a", "q\""}, {"b", "2"}}, 3);
  w.sample({}, 0.5);
  CHECK(w.text() ==
        "# HELP x_total Help with \\\\ and\\nnewline.\n"
        "# TYPE x_total counter\n"
        "x_total{a=\"q\\\"\",b=\"2\"} 3\n"
        "x_total 0.5\n");
}

TEST_CASE("render: names with quotes, backslashes and newlines are escaped in every series") {
  auto weird = program("we\"ird\\name\nx");
  auto plain = program("plain");
  plain.autostart = false;
  Harness h(sup::testing::config_of({group("g\"1", 1, {weird, plain})}), Harness::default_env(), true);
  REQUIRE(h.proc("g\"1:plain").state() == sup::ProcessState::Stopped);
  std::string text = sup::metrics::render(*h.sup, facts());
  const std::string labels = "group=\"g\\\"1\",name=\"we\\\"ird\\\\name\\nx\"";
  CHECK(count(text, labels) == 8 + 1 + 1 + 1 + 1 + 1 + 1 + 4);  // every per-process series
  CHECK(text.find("supervisord_process_state{" + labels + ",state=\"STARTING\"} 1\n") != std::string::npos);
  CHECK(text.find("supervisord_process_pid{" + labels + "} " + std::to_string(h.rt.last_pid()) + "\n") !=
        std::string::npos);
  CHECK(text.find("supervisord_process_up{group=\"g\\\"1\",name=\"plain\"} 0\n") != std::string::npos);
  CHECK(text.find("\nsupervisord_processes{state=\"STARTING\"} 1\n") != std::string::npos);
  CHECK(text.find("\nsupervisord_processes{state=\"STOPPED\"} 1\n") != std::string::npos);
  CHECK(text.find("\nsupervisord_uptime_seconds 12.25\n") != std::string::npos);
  CHECK(text.find("\nsupervisord_start_time_seconds 1700000000.5\n") != std::string::npos);
  CHECK(text.find("\nprocess_open_fds 7\n") != std::string::npos);
  CHECK(text.find("\nsupervisord_build_info{version=\"1.2.3\",supervisord_version=\"4.2.5\"} 1\n") !=
        std::string::npos);
  // No raw newline inside a series: every line is a comment or ends in a value.
  std::size_t lines = count(text, "\n");
  CHECK(lines == count(text, "# HELP ") * 2 + count(text, "} ") + count(text, "\nsupervisord_uptime_seconds ") +
                     count(text, "\nsupervisord_start_time_seconds ") + count(text, "\nprocess_"));
  CHECK(text.back() == '\n');
}

TEST_CASE("readiness: every autostart process RUNNING, finished one-shot tasks count as ready") {
  auto web = program("web");
  web.startsecs = 1;
  auto task = program("task");
  task.startsecs = 0;
  task.autorestart = sup::config::AutoRestart::False;
  auto manual = program("manual");
  manual.autostart = false;
  Harness h(sup::testing::config_of({sup::testing::group_of(web), sup::testing::group_of(task),
                                     sup::testing::group_of(manual)}),
            Harness::default_env(), true);
  CHECK(sup::metrics::unready(*h.sup) == std::vector<std::string>{"web STARTING"});
  h.rt.exit(h.proc("task").pid(), sup::testing::exited_with(0));
  REQUIRE(h.proc("task").state() == sup::ProcessState::Exited);
  CHECK(sup::metrics::unready(*h.sup) == std::vector<std::string>{"web STARTING"});
  h.rt.advance(1100ms);
  REQUIRE(h.proc("web").state() == sup::ProcessState::Running);
  CHECK(sup::metrics::unready(*h.sup).empty());
  // An unexpected exit code is a failure, not a finished task.
  h.proc("task").spawn();
  h.rt.run_posted();
  h.rt.exit(h.proc("task").pid(), sup::testing::exited_with(2));
  CHECK(sup::metrics::unready(*h.sup) == std::vector<std::string>{"task EXITED"});
}
