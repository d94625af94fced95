// supervisord's `%(name)s` expansion: Python's `value % dict` with the
// printf-style conversion after the name (`%(process_num)02d`) and `%%` for a
// literal percent sign.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <variant>

#include "util/result.hpp"

namespace sup::config {

// A name's value: text (here, ENV_X, program_name...) or a number
// (process_num, numprocs), as in supervisord.
using ExpansionValue = std::variant<std::string, long long>;
using Expansions = std::map<std::string, ExpansionValue>;

// Expands `format`. `what` names the value for the error message, e.g.
// "program:web.command". Errors (one line):
//   Format string '/bin/x %(foo)s' for 'program:web.command' contains names
//   ('foo') which cannot be expanded. Available names: ENV_HOME, here, ...
//   Format string '100%' for 'x' is badly formatted: incomplete format
Result<std::string> expand(std::string_view format, const Expansions& names, std::string_view what);

// Same expansion; the error is only the reason ("contains names ('foo')
// which cannot be expanded. Available names: ..."), for callers that build
// their own context.
Result<std::string> expand_value(std::string_view format, const Expansions& names);

// The expansion dictionary of the daemon's environment: ENV_<key> = value.
Expansions environment_expansions(const std::map<std::string, std::string>& env);

}  // namespace sup::config
