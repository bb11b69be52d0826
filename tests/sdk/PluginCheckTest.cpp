// hostd-plugin-check on plugins that follow the rules (every check passes) and on fixtures that
// each break one (the expected check fails or warns, with a reason that says why).
#include "SdkTestSupport.h"

#include <gtest/gtest.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <filesystem>

namespace hostd::test {
namespace {

/// The verdict one check must have; reason is a substring of the check's reason.
struct Expect {
    std::string check, status, reason;
};

/// A plugin that breaks a rule, how to run it, and what the report must say.
struct RuleCase {
    std::string name;       ///< The test's name.
    std::string fixture;    ///< NAME of HOSTD_FIXTURE_DIR/NAME.so.
    std::string section;    ///< --config file contents, if not empty.
    std::vector<std::string> args;
    std::vector<Expect> expect;
    int exitCode = 1;
};

void PrintTo(const RuleCase& c, std::ostream* os) { *os << c.name; }  // not 152 bytes of hex

ToolRun check(const std::string& plugin, const std::string& section = "", std::vector<std::string> args = {}) {
    TempDir dir;
    args.insert(args.begin(), plugin);
    if (!section.empty()) args.push_back("--config=" + dir.write("section.conf", section));
    return runPluginCheck(args);
}

class RuleBreaker : public ::testing::TestWithParam<RuleCase> {};

TEST_P(RuleBreaker, IsReportedWithTheExpectedReason) {
    const RuleCase& c = GetParam();
    if (!std::filesystem::exists(fixture(c.fixture))) GTEST_SKIP() << fixture(c.fixture) << " is not built here";
    std::vector<std::string> args = c.args;
    args.push_back("--json");
    ToolRun run = check(fixture(c.fixture), c.section, args);
    ASSERT_EQ(run.exitCode, c.exitCode) << run.out << run.err;
    auto checks = parseChecks(run.out);
    for (const Expect& e : c.expect) {
        ASSERT_TRUE(checks.count(e.check)) << e.check;
        EXPECT_EQ(checks[e.check].status, e.status) << e.check << ": " << checks[e.check].reason;
        EXPECT_NE(checks[e.check].reason.find(e.reason), std::string::npos)
            << e.check << ": '" << checks[e.check].reason << "' lacks '" << e.reason << "'";
    }
}

const RuleCase kRuleCases[] = {
    {"FdLeftOpen", "fd_leak", "", {}, {{"fds", "fail", "-> /dev/null"}}},
    {"ThreadLeftRunning", "thread_leak", "", {},
     {{"threads", "fail", "'leaky'"}, {"unload", "skip", "would crash"}}},
    {"PthreadKeyLeftAllocated", "key_leak", "", {}, {{"pthread-keys", "warn", "pthread_key_delete"}}, 0},
    {"ThreadLocalDestructorOnAHostThread", "tls_dtor", "", {}, {{"unload", "fail", "still mapped after dlclose"}}},
    {"ExitCalledInStart", "calls_exit", "", {}, {{"start", "fail", "exited with code 3: a plugin must never call exit()"}}},
    {"GnuUniqueSymbol", "gnu_unique", "", {},
     {{"gnu-unique", "fail", "FixtureRegistry::count()::n"}, {"unload", "fail", "still mapped"}}},
    {"ExtraExportedSymbols", "extra_exports", "", {},
     {{"exported-symbols", "warn", "fixture_another_export, fixture_extra_export"}}, 0},
    {"LinkedWithoutBindNow", "lazy_binding", "", {}, {{"bind-now", "warn", "not linked with -z now"}}, 0},
    {"UndefinedSymbol", "undefined_symbol", "", {},
     {{"undefined-symbols", "fail", "hostd_fixture_defined_nowhere"},
      {"load", "fail", "undefined symbol: hostd_fixture_defined_nowhere"}}},
    {"TextRelocations", "textrel", "", {}, {{"textrel", "fail", "DT_TEXTREL"}}},
    {"NoEntrySymbol", "no_entry", "", {},
     {{"entry-symbol", "fail", "no exported hostd_plugin_entry"}, {"abi-version", "fail", "no symbol"}}},
    {"WrongAbiMajor", "wrong_major", "", {}, {{"abi-version", "fail", "plugin ABI 2.0, this SDK is 1.2: the major differs"}}},
    {"NewerAbiMinor", "newer_minor", "", {}, {{"abi-version", "fail", "plugin ABI 1.3 is newer than this SDK"}}},
    {"NotAnElfFile", "not_elf", "", {}, {{"elf", "fail", "not an ELF file"}, {"load", "skip", "not run"}}},
    {"CrashInStart", "probe", "crash = start\n", {},
     {{"start", "fail", "SIGSEGV"}, {"stop", "skip", "not reached (crash during start)"}}},
    {"HangInStop", "probe", "hang = stop\n", {"--stop-timeout=300ms"},
     {{"stop", "fail", "did not finish within 300 ms"}, {"unload", "skip", "stop timed out"}}},
    {"StopPastItsDeadline", "probe", "[plugin.probe]\nstop_delay_ms = 600\nstop_timeout = 300ms\n", {},
     {{"stop", "fail", "past its stop_timeout of 300 ms"}}},
    {"FailingStart", "probe", "fail = start\n", {},
     {{"start", "fail", "HOSTD_ERR_FAILED: probe: injected failure in start"}, {"reload", "skip", "start failed"}}},
    {"ThrowingReload", "probe", "throw = reload\n", {},
     {{"reload", "fail", "HOSTD_ERR_EXCEPTION: probe: injected exception in reload"}, {"stop", "pass", "HOSTD_OK"}}},
};

INSTANTIATE_TEST_SUITE_P(PluginCheck, RuleBreaker, ::testing::ValuesIn(kRuleCases),
                         [](const auto& info) { return info.param.name; });

TEST(PluginCheck, ExamplePluginsTheProbeAndTheOldPluginPassEveryCheck) {
    const std::string demo = HOSTD_DEMO_PLUGIN_DIR;
    // echo listens on a port: an ephemeral one, so parallel tests and a running demo never clash.
    const std::pair<std::string, std::string> plugins[] = {
        {demo + "/heartbeat.so", "interval = 10ms\n"},
        {demo + "/echo.so", "listen = 127.0.0.1:0\n"},
        {fixture("probe"), ""},
        {fixture("old_v1_0"), "greeting = hello\n"},
        {fixture("well_behaved"), ""},
    };
    for (const auto& [plugin, section] : plugins) {
        ToolRun run = check(plugin, section, {"--json", "--strict"});
        EXPECT_EQ(run.exitCode, 0) << plugin << "\n" << run.out << run.err;
        for (const auto& [id, verdict] : parseChecks(run.out))
            EXPECT_EQ(verdict.status, "pass") << plugin << ": " << id << ": " << verdict.reason;
    }
}

TEST(PluginCheck, TextReportIsATableWithAResultAndAReasonPerCheck) {
    ToolRun run = check(std::string(HOSTD_DEMO_PLUGIN_DIR) + "/heartbeat.so");
    ASSERT_EQ(run.exitCode, 0) << run.out << run.err;
    EXPECT_NE(run.out.find("CHECK"), std::string::npos) << run.out;
    for (const char* id : {"elf", "gnu-unique", "undefined-symbols", "start", "stop", "threads", "unload", "fds"})
        EXPECT_NE(run.out.find(std::string("  ") + id), std::string::npos) << id << "\n" << run.out;
    EXPECT_NE(run.out.find("1 thread(s) started, all gone after stop"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("result: pass (16 passed, 0 warnings, 0 failed, 0 skipped)"), std::string::npos) << run.out;
}

TEST(PluginCheck, StrictFailsOnWarnings) {
    EXPECT_EQ(check(fixture("lazy_binding")).exitCode, 0);
    EXPECT_EQ(check(fixture("lazy_binding"), "", {"--strict"}).exitCode, 1);
}

TEST(PluginCheck, OnlyThePluginsSectionReachesItWithoutHostKeysAndItsLogIsValidJson) {
    // A whole hostd.conf: other sections are ignored, host keys are not passed to the plugin, and
    // a value with quotes, a backslash and a tab comes back intact through the JSON escaping.
    std::string conf = "[hostd]\nplugin_dir = /nowhere\n\n[plugin.old_v1_0]\nrequires = other\nstop_timeout = 2s\n"
                       "greeting = say \"hi\" \\ and\ttab\n\n[plugin.other]\ngreeting = not mine\n";
    ToolRun run = check(fixture("old_v1_0"), conf, {"--json"});
    ASSERT_EQ(run.exitCode, 0) << run.out << run.err;
    Poco::JSON::Parser parser;
    auto log = parser.parse(run.out).extract<Poco::JSON::Object::Ptr>()->getArray("log");
    ASSERT_EQ(log->size(), 3u) << run.out;
    EXPECT_EQ(log->getObject(0)->getValue<std::string>("level"), "notice");
    EXPECT_EQ(log->getObject(0)->getValue<std::string>("message"),
              "old_v1_0 start: instance=old_v1_0 greeting=say \"hi\" \\ and\ttab stopping=0");
    EXPECT_EQ(log->getObject(2)->getValue<std::string>("message"),
              "old_v1_0 stop: instance=old_v1_0 greeting=(none) stopping=1");
}

TEST(PluginCheck, BadCommandLinesAndConfigFilesAreUsageErrors) {
    ToolRun noEquals = check(fixture("probe"), "[plugin.probe]\nno equals sign here\n");
    EXPECT_EQ(noEquals.exitCode, 2);
    EXPECT_NE(noEquals.err.find("section.conf:2: expected 'key = value'"), std::string::npos) << noEquals.err;
    ToolRun otherSection = check(fixture("probe"), "[plugin.other]\nkey = value\n");
    EXPECT_EQ(otherSection.exitCode, 2);
    EXPECT_NE(otherSection.err.find("no [plugin.probe] section"), std::string::npos) << otherSection.err;
    EXPECT_EQ(runPluginCheck({fixture("probe"), "--bogus"}).exitCode, 2);
    EXPECT_EQ(runPluginCheck({}).exitCode, 2);
    EXPECT_EQ(runPluginCheck({fixture("probe"), "--stop-timeout=soon"}).exitCode, 2);
}

}  // namespace
}  // namespace hostd::test
