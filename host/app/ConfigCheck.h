#pragma once

#include "Config.h"

#include <ostream>

namespace hostd {

int checkConfig(const ConfigSource& source, bool verbose, std::ostream& out);
    /// hostd --check-config: parses and validates the main file and drop-ins, and checks what
    /// can be checked without starting (plugin directory, plugin files, dependency cycles among
    /// configured plugins). Prints every issue as FILE:LINE: message, then "configuration OK"
    /// or the error count. With verbose, also prints every effective value with the file and
    /// line it came from (secrets redacted). Returns 0 or 78 (EX_CONFIG).
}  // namespace hostd
