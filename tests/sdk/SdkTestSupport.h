#pragma once

#include "TempDir.h"

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace hostd::test {

/// What one run of hostd-plugin-check printed and returned.
struct ToolRun {
    int exitCode = -1;  ///< 128 + N if killed by signal N.
    std::string out;
    std::string err;
};

ToolRun runPluginCheck(const std::vector<std::string>& args);
    /// Runs HOSTD_PLUGIN_CHECK with args and waits for it (killing it after a minute).

/// One row of hostd-plugin-check --json.
struct Verdict {
    std::string status;
    std::string reason;
};

std::map<std::string, Verdict> parseChecks(const std::string& json);
    /// The checks of a --json report, by id. Throws if the text is not valid JSON.

std::string fixture(const std::string& name);
    /// The path of a test fixture plugin, HOSTD_FIXTURE_DIR/NAME.so.

}  // namespace hostd::test
