// A strict parser of the Prometheus text exposition format 0.0.4, written
// for the tests (independent of the daemon's renderer). Beyond the format's
// own rules it enforces what the daemon promises: every family has # HELP
// then # TYPE before its samples, a family's samples are contiguous, and no
// series appears twice. Any violation throws ParseError naming the line.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace prom {

struct ParseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using LabelSet = std::map<std::string, std::string>;

struct Sample {
  std::string name;  // the metric name as written (family name, or with _bucket/_sum/_count)
  LabelSet labels;
  double value = 0;
  std::optional<std::int64_t> timestamp;
};

struct Family {
  std::string name;
  std::string help;  // unescaped
  std::string type;  // counter, gauge, histogram, summary, untyped
  std::vector<Sample> samples;
};

struct Exposition {
  std::vector<Family> families;  // in order of appearance

  const Family* family(const std::string& name) const;
  // The value of the series name{labels}; nullopt when absent.
  std::optional<double> value(const std::string& name, const LabelSet& labels = {}) const;
};

// Parses text; throws ParseError on the first violation.
Exposition parse(std::string_view text);

bool valid_metric_name(std::string_view s);
bool valid_label_name(std::string_view s);

}  // namespace prom
