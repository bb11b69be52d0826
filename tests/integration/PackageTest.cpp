// Operator files and packaging: the systemd unit passes systemd-analyze; `cmake --install`
// lays out the tree and keeps an edited hostd.conf; the .deb has the files, dependencies,
// conffile and maintainer scripts, and its hostd accepts its own hostd.conf.
#include "DaemonSupport.h"

#include <filesystem>
#include <fstream>
#include <regex>

namespace hostd::test {
namespace {

namespace fs = std::filesystem;

/// A temporary directory removed at the end of the test (kept if the test failed).
class Scratch : public ::testing::Test {
protected:
    void SetUp() override {
        char dir[] = "/tmp/hostd-package.XXXXXX";
        ASSERT_NE(::mkdtemp(dir), nullptr);
        _dir = dir;
    }
    void TearDown() override {
        std::error_code ec;
        if (!HasFailure()) fs::remove_all(_dir, ec);
    }
    std::string path(const std::string& name) const { return _dir + "/" + name; }

    /// The unit with ExecStart pointing at binary: systemd-analyze verify insists it exists.
    std::string unitFor(const std::string& unitFile, const std::string& binary) {
        std::string text = std::regex_replace(readFile(unitFile), std::regex("/usr/sbin/hostd"), binary);
        std::string out = path("hostd.service");
        std::ofstream(out) << text;
        return out;
    }

    /// Runs systemd-analyze verify on the unit; expects success without a single warning.
    void expectUnitVerifies(const std::string& unitFile, const std::string& binary) {
        auto r = runCommand({"systemd-analyze", "verify", unitFor(unitFile, binary)});
        EXPECT_EQ(r.exitCode, 0) << r.output;
        EXPECT_EQ(r.output, "") << "systemd-analyze warns about the unit";
    }

    std::string _dir;
};

/// The value of `Key=` in a unit file text, or "".
std::string unitValue(const std::string& text, const std::string& key) {
    std::smatch m;
    return std::regex_search(text, m, std::regex("(^|\n)" + key + "=([^\n]*)")) ? m[2].str() : "";
}

int seconds(const std::string& value) {
    std::smatch m;
    return std::regex_match(value, m, std::regex("([0-9]+)s?")) ? std::stoi(m[1]) : -1;
}

class SystemdUnit : public Scratch {};

TEST_F(SystemdUnit, HasTheSettingsOfTheIssue) {
    std::string unit = readFile(HOSTD_UNIT_FILE);
    EXPECT_EQ(unitValue(unit, "Type"), "notify");
    EXPECT_EQ(unitValue(unit, "ExecStart"), "/usr/sbin/hostd --config=/etc/hostd.conf") << "foreground, no --daemon";
    EXPECT_EQ(unitValue(unit, "ExecReload"), "/bin/kill -HUP $MAINPID");
    EXPECT_EQ(unitValue(unit, "Restart"), "always");
    EXPECT_EQ(unitValue(unit, "RestartSec"), "5");
    EXPECT_EQ(unitValue(unit, "StartLimitIntervalSec"), "60");
    EXPECT_EQ(unitValue(unit, "StartLimitBurst"), "3");
    EXPECT_GT(seconds(unitValue(unit, "WatchdogSec")), 0);
    EXPECT_EQ(unitValue(unit, "User"), "hostd");
    for (const char* key : {"NoNewPrivileges", "ProtectHome", "PrivateTmp"}) EXPECT_EQ(unitValue(unit, key), "yes") << key;
    EXPECT_EQ(unitValue(unit, "ProtectSystem"), "strict");
    EXPECT_EQ(unitValue(unit, "CapabilityBoundingSet"), "CAP_NET_BIND_SERVICE");
    EXPECT_EQ(unitValue(unit, "RuntimeDirectory"), "hostd");
    EXPECT_EQ(unitValue(unit, "StateDirectory"), "hostd");
}

TEST_F(SystemdUnit, StopTimeoutIsAboveTheDrainBudget) {
    // The default stop_timeout, as hostd itself reports it.
    std::ofstream(path("empty.conf")) << "";
    auto r = runCommand({HOSTD_BINARY_PATH, "--check-config", "--verbose", "--config=" + path("empty.conf"),
                         "--plugin-dir=" + _dir});
    ASSERT_EQ(r.exitCode, 0) << r.output;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.output, m, std::regex("\nstop_timeout = ([0-9]+)s "))) << r.output;
    EXPECT_GT(seconds(unitValue(readFile(HOSTD_UNIT_FILE), "TimeoutStopSec")), std::stoi(m[1]));
}

TEST_F(SystemdUnit, PassesSystemdAnalyzeVerify) {
    if (!haveCommand("systemd-analyze")) GTEST_SKIP() << "systemd-analyze not installed (Debian package systemd)";
    expectUnitVerifies(HOSTD_UNIT_FILE, HOSTD_BINARY_PATH);
    // And the hardening adds up: systemd rates the exposure from 0 (safe) to 10 (unsafe).
    auto r = runCommand({"systemd-analyze", "security", "--offline=true", path("hostd.service")});
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.output, m, std::regex("Overall exposure level for hostd.service: ([0-9.]+)")))
        << r.output;
    EXPECT_LT(std::stod(m[1]), 5.0) << r.output;
}

class Install : public Scratch {};

TEST_F(Install, LaysOutTheTreeAndKeepsAnEditedConfiguration) {
    std::string prefix = path("prefix");
    auto r = runCommand({HOSTD_CMAKE_COMMAND, "--install", HOSTD_BUILD_DIR, "--prefix", prefix});
    ASSERT_EQ(r.exitCode, 0) << r.output;
    for (const char* file : {"sbin/hostd", "etc/hostd.conf", "etc/logrotate.d/hostd", "lib/systemd/system/hostd.service",
                             "share/doc/hostd/README.md",
                             "share/doc/hostd/examples/echo.so", "share/doc/hostd/examples/heartbeat.so",
                             "share/doc/hostd/examples/src/echo/echo.cpp", "sbin/hostctl"})
        EXPECT_TRUE(fs::is_regular_file(prefix + "/" + file)) << file;
    EXPECT_TRUE(fs::is_directory(prefix + "/lib/hostd"));
    EXPECT_TRUE(fs::is_empty(prefix + "/lib/hostd")) << "examples are never installed where they would be loaded";

    std::ofstream(prefix + "/etc/hostd.conf", std::ios::app) << "# edited by the operator\n";
    r = runCommand({HOSTD_CMAKE_COMMAND, "--install", HOSTD_BUILD_DIR, "--prefix", prefix});
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(readFile(prefix + "/etc/hostd.conf").find("# edited by the operator"), std::string::npos)
        << "a second install overwrote the operator's hostd.conf";
}

class DebianPackage : public Scratch {
protected:
    void SetUp() override {
        if (!haveCommand("dpkg-deb") || !haveCommand("dpkg-shlibdeps"))
            GTEST_SKIP() << "dpkg-deb and dpkg-shlibdeps are needed (Debian package dpkg-dev)";
        Scratch::SetUp();
    }

    /// Builds the .debs with CPack into the scratch directory; returns the path of the one
    /// named PACKAGE_*.deb (hostd or hostd-dev).
    std::string buildPackage(const std::string& package = "hostd") {
        auto r = runCommand({HOSTD_CPACK_COMMAND, "-G", "DEB", "--config", HOSTD_BUILD_DIR "/CPackConfig.cmake", "-B",
                             path("out")}, 300s);
        EXPECT_EQ(r.exitCode, 0) << r.output;
        for (const auto& e : fs::directory_iterator(path("out")))
            if (e.path().extension() == ".deb" && e.path().filename().string().starts_with(package + "_"))
                return e.path().string();
        return "";
    }

    /// The paths in a .deb, one per line, as dpkg-deb -c lists them ("./usr/sbin/hostd").
    static std::string contentsOf(const std::string& deb) {
        auto r = runCommand({"dpkg-deb", "-c", deb});
        EXPECT_EQ(r.exitCode, 0) << r.output;
        return r.output;
    }
};

TEST_F(DebianPackage, BuildsWithTheFilesDependenciesAndScriptsOfAService) {
    std::string deb = buildPackage();
    ASSERT_FALSE(deb.empty());

    std::string contents = contentsOf(deb);
    for (const char* file : {"./usr/sbin/hostd", "./etc/hostd.conf", "./etc/logrotate.d/hostd", "./lib/systemd/system/hostd.service",
                             "./usr/lib/hostd/", "./usr/share/doc/hostd/examples/echo.so",
                             "./usr/share/doc/hostd/README.md", "./usr/sbin/hostctl"})
        EXPECT_TRUE(std::regex_search(contents, std::regex(std::string(" ") + file + "(\n|$)"))) << file << "\n"
                                                                                               << contents;
    EXPECT_EQ(contents.find("/usr/include/"), std::string::npos) << "the SDK belongs to hostd-dev\n" << contents;

    auto info = runCommand({"dpkg-deb", "-I", deb});
    ASSERT_EQ(info.exitCode, 0) << info.output;
    EXPECT_NE(info.output.find("Package: hostd\n"), std::string::npos) << info.output;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(info.output, m, std::regex("\n Depends: ([^\n]*)"))) << info.output;
    for (const char* dependency : {"adduser", "libcap2", "libpocofoundation", "libpocoutil", "libssl3"})
        EXPECT_NE(m[1].str().find(dependency), std::string::npos) << dependency << " in " << m[1];

    std::string control = path("control");
    ASSERT_EQ(runCommand({"dpkg-deb", "-e", deb, control}).exitCode, 0);
    EXPECT_EQ(readFile(control + "/conffiles"), "/etc/hostd.conf\n/etc/logrotate.d/hostd\n");
    std::string postinst = readFile(control + "/postinst");
    EXPECT_NE(postinst.find("adduser --system --group"), std::string::npos) << postinst;
    EXPECT_NE(postinst.find("deb-systemd-helper enable 'hostd.service'"), std::string::npos) << postinst;
    EXPECT_NE(readFile(control + "/prerm").find("deb-systemd-invoke stop 'hostd.service'"), std::string::npos);
    EXPECT_NE(readFile(control + "/postrm").find("deb-systemd-helper purge 'hostd.service'"), std::string::npos);
    for (const char* script : {"postinst", "prerm", "postrm"}) {
        auto syntax = runCommand({"sh", "-n", control + "/" + script});
        EXPECT_EQ(syntax.exitCode, 0) << script << ": " << syntax.output;
        EXPECT_EQ(fs::status(control + "/" + script).permissions() & fs::perms::owner_exec, fs::perms::owner_exec) << script;
    }
}

TEST_F(DebianPackage, TheSdkIsItsOwnDevelopmentPackage) {
    std::string deb = buildPackage("hostd-dev");
    ASSERT_FALSE(deb.empty());
    std::string contents = contentsOf(deb);
    for (const char* file : {"./usr/include/hostd/plugin.h", "./usr/include/hostd/plugin.hpp",
                             "./usr/lib/cmake/hostd/hostdConfig.cmake", "./usr/lib/pkgconfig/hostd-sdk.pc",
                             "./usr/bin/hostd-plugin-check"})
        EXPECT_TRUE(std::regex_search(contents, std::regex(std::string(" ") + file + "(\n|$)"))) << file << "\n"
                                                                                               << contents;
    EXPECT_EQ(contents.find("/sbin/hostd"), std::string::npos) << contents;
    EXPECT_EQ(contents.find("/etc/"), std::string::npos) << contents;
    auto info = runCommand({"dpkg-deb", "-I", deb});
    EXPECT_NE(info.output.find("Package: hostd-dev\n"), std::string::npos) << info.output;
    EXPECT_NE(info.output.find("Section: libdevel\n"), std::string::npos) << info.output;
    EXPECT_NE(info.output.find("Description: SDK for hostd plugins\n"), std::string::npos) << info.output;
}

TEST_F(DebianPackage, ExtractedDaemonAcceptsItsOwnConfiguration) {
    std::string deb = buildPackage();
    ASSERT_FALSE(deb.empty());
    std::string root = path("root");
    auto r = runCommand({"dpkg-deb", "-x", deb, root});
    ASSERT_EQ(r.exitCode, 0) << r.output;
    fs::create_directory(path("plugins"));
    auto check = runCommand({root + "/usr/sbin/hostd", "--check-config", "--config=" + root + "/etc/hostd.conf",
                             "--plugin-dir=" + path("plugins")});
    EXPECT_EQ(check.exitCode, 0) << check.output;
    EXPECT_NE(check.output.find("configuration OK"), std::string::npos) << check.output;
    if (haveCommand("systemd-analyze")) expectUnitVerifies(root + "/lib/systemd/system/hostd.service", root + "/usr/sbin/hostd");
}

}  // namespace
}  // namespace hostd::test
