// The commented sample configuration that `supervisord --echo-config` (and
// the installed echo_supervisord_conf script) prints: every section, the
// common options with their default values. Active lines keep everything
// under /tmp so the text loads and runs as is for an unprivileged user.
#pragma once

#include <string_view>

namespace sup {

std::string_view sample_config();

}  // namespace sup
