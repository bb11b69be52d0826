// Helpers shared by the configuration unit tests.
#pragma once

#include "Config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace hostd::test {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using hostd::ConfigIssue;
using hostd::ConfigLoad;
using hostd::ConfigSnapshot;
using hostd::ConfigText;
using hostd::Millis;
using hostd::PluginSection;
using hostd::PluginSetting;
using hostd::loadConfig;
using hostd::parseConfig;
using namespace std::chrono_literals;

inline std::vector<std::string> strs(const std::vector<ConfigIssue>& issues) {
    std::vector<std::string> out;
    for (const auto& i : issues) out.push_back(i.str());
    return out;
}

inline std::vector<int> lines(const std::vector<ConfigIssue>& issues) {
    std::vector<int> out;
    for (const auto& i : issues) out.push_back(i.origin.line);
    return out;
}

/// Parses one file named "main.conf".
inline ConfigLoad parseOne(const std::string& text) { return parseConfig({ConfigText{"main.conf", text}}); }

/// A valid configuration, or a test failure listing the issues.
inline const ConfigSnapshot& requireOk(const ConfigLoad& load) {
    static const ConfigSnapshot empty;
    EXPECT_TRUE(load.ok()) << ::testing::PrintToString(strs(load.issues));
    EXPECT_THAT(strs(load.issues), IsEmpty());
    return load.config ? *load.config : empty;
}
const ConfigSnapshot& requireOk(ConfigLoad&&) = delete;  // the snapshot would dangle

inline std::vector<std::pair<std::string, std::string>> keyValues(const std::vector<PluginSetting>& settings) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& s : settings) out.emplace_back(s.key, s.value);
    return out;
}

// ==== Bad inputs: every error, exact FILE:LINE: message ======================================

}  // namespace hostd::test
