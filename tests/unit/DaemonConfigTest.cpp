// The [hostd] keys of the production daemon: pidfile, user, group, capabilities, rlimit_*.
#include "Config.h"
#include "ConfigRules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace {

using hostd::ConfigLoad;
using hostd::ConfigText;
using hostd::LimitSpec;
using hostd::parseConfig;
using hostd::parseLimit;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

ConfigLoad parseHost(const std::string& lines) { return parseConfig({ConfigText{"main.conf", "[hostd]\n" + lines}}); }

std::vector<std::string> issues(const ConfigLoad& load) {
    std::vector<std::string> out;
    for (const auto& i : load.issues) out.push_back(i.str());
    return out;
}

TEST(DaemonConfig, DefaultsKeepTheStartingIdentityAndRaiseOpenFilesToTheHardLimit) {
    auto load = parseHost("");
    ASSERT_TRUE(load.ok());
    const auto& h = load.config->host;
    EXPECT_EQ(h.pidfile, "");
    EXPECT_EQ(h.user, "");
    EXPECT_EQ(h.group, "");
    EXPECT_THAT(h.capabilities, IsEmpty());
    EXPECT_EQ(h.rlimitNofile, "hard");
    EXPECT_EQ(h.rlimitCore, "");
    EXPECT_EQ(h.rlimitFsize, "");
}

TEST(DaemonConfig, ValidValuesAreTakenWithCapabilitiesSpelledAsLibcapDoes) {
    auto load = parseHost("pidfile = /run/hostd/hostd.pid\nuser = hostd\ngroup = nogroup\n"
                          "capabilities = CAP_NET_BIND_SERVICE, cap_sys_nice cap_net_bind_service\n"
                          "rlimit_nofile = 4096:8192\nrlimit_core = unlimited\nrlimit_fsize = 1G\n");
    ASSERT_TRUE(load.ok()) << ::testing::PrintToString(issues(load));
    const auto& h = load.config->host;
    EXPECT_EQ(h.pidfile, "/run/hostd/hostd.pid");
    EXPECT_EQ(h.user, "hostd");
    EXPECT_EQ(h.group, "nogroup");
    EXPECT_THAT(h.capabilities, ElementsAre("cap_net_bind_service", "cap_sys_nice"));
    EXPECT_EQ(h.rlimitNofile, "4096:8192");
    EXPECT_EQ(h.rlimitCore, "unlimited");
    EXPECT_EQ(h.rlimitFsize, "1G");
}

TEST(DaemonConfig, BadValuesAreErrorsWithFileAndLine) {
    auto load = parseHost("pidfile = run/hostd.pid\nuser = bad user\ngroup = -x\ncapabilities = cap_net_bind_service, cap_fly\n"
                          "rlimit_nofile = lots\nrlimit_core = 2:1\nrlimit_fsize = 10Q\nrlimit_nofile = unlimited\n");
    EXPECT_FALSE(load.ok());
    auto all = issues(load);
    ASSERT_EQ(all.size(), 8u) << ::testing::PrintToString(all);
    EXPECT_EQ(all[0], "main.conf:2: pidfile = 'run/hostd.pid' must be an absolute path");
    EXPECT_EQ(all[1], "main.conf:3: user = 'bad user' is not a user name or numeric id");
    EXPECT_EQ(all[2], "main.conf:4: group = '-x' is not a group name or numeric id");
    EXPECT_THAT(all[3], ::testing::StartsWith("main.conf:5: capabilities: unknown capability 'cap_fly'"));
    EXPECT_THAT(all[4], ::testing::StartsWith("main.conf:6: rlimit_nofile = 'lots' is not a limit"));
    EXPECT_THAT(all[5], ::testing::StartsWith("main.conf:7: rlimit_core = '2:1' is not a limit"));
    EXPECT_THAT(all[6], ::testing::StartsWith("main.conf:8: rlimit_fsize = '10Q' is not a limit"));
    // The duplicate key is reported by the parser; the value itself is not looked at.
    EXPECT_THAT(all[7], ::testing::StartsWith("main.conf:9: duplicate key 'rlimit_nofile'"));
}

TEST(DaemonConfig, CapabilitiesOrGroupWithoutUserWarnThatRootIsKept) {
    auto load = parseHost("group = nogroup\ncapabilities = cap_net_bind_service\n");
    ASSERT_TRUE(load.ok());
    EXPECT_THAT(issues(load),
                ElementsAre("main.conf:2: warning: group without user: started as root, hostd keeps uid 0 and may still "
                            "write every root-owned file; set user in [hostd]",
                            "main.conf:3: warning: capabilities without user: started as root, hostd keeps uid 0 and may "
                            "still write every root-owned file; set user in [hostd]"));
    EXPECT_THAT(issues(parseHost("user = hostd\ncapabilities = none\n")), IsEmpty());
}

TEST(DaemonConfig, OpenFilesCannotBeUnlimited) {
    auto load = parseHost("rlimit_nofile = unlimited\n");
    EXPECT_THAT(issues(load), ElementsAre("main.conf:2: rlimit_nofile = 'unlimited': open files cannot be unlimited "
                                          "(the kernel caps them at fs.nr_open)"));
}

TEST(DaemonConfig, CapabilityNumbersAreNotNames) {
    auto load = parseHost("capabilities = 10\n");
    EXPECT_FALSE(load.ok());
}

TEST(DaemonConfig, NoneAndEmptyMeanNoCapabilities) {
    for (const char* value : {"none", ""}) {
        auto load = parseHost(std::string("capabilities = ") + value + "\n");
        ASSERT_TRUE(load.ok()) << value;
        EXPECT_THAT(load.config->host.capabilities, IsEmpty());
    }
}

TEST(DaemonConfig, DescribeShowsEveryNewKeyAsItWouldBeWritten) {
    auto load = parseHost("capabilities = cap_net_bind_service\nrlimit_core = 0\n");
    ASSERT_TRUE(load.ok());
    std::map<std::string, std::string> described;
    for (const auto& [key, value] : hostd::describe(load.config->host)) described[key] = value;
    EXPECT_EQ(described.at("pidfile"), "");
    EXPECT_EQ(described.at("user"), "");
    EXPECT_EQ(described.at("group"), "");
    EXPECT_EQ(described.at("capabilities"), "cap_net_bind_service");
    EXPECT_EQ(described.at("rlimit_nofile"), "hard");
    EXPECT_EQ(described.at("rlimit_core"), "0");
    EXPECT_EQ(described.at("rlimit_fsize"), "");
    // What describe() prints parses back to the same settings.
    std::string text;
    for (const auto& [key, value] : hostd::describe(load.config->host)) text += key + " = " + value + "\n";
    auto again = parseHost(text);
    ASSERT_TRUE(again.ok()) << ::testing::PrintToString(issues(again));
    EXPECT_EQ(again.config->host.capabilities, load.config->host.capabilities);
}

TEST(Limits, ParseEveryForm) {
    auto inherit = parseLimit("", false);
    ASSERT_TRUE(inherit);
    EXPECT_EQ(inherit->kind, LimitSpec::Kind::Inherit);
    EXPECT_EQ(parseLimit("hard", false)->kind, LimitSpec::Kind::SoftToHard);
    auto both = parseLimit("1024", false);
    EXPECT_EQ(both->kind, LimitSpec::Kind::Set);
    EXPECT_EQ(both->soft, 1024u);
    EXPECT_EQ(both->hard, 1024u);
    auto pair = parseLimit("0:unlimited", true);
    EXPECT_EQ(pair->soft, 0u);
    EXPECT_EQ(pair->hard, LimitSpec::kUnlimited);
    EXPECT_EQ(parseLimit("2k", true)->soft, 2048u);
    EXPECT_EQ(parseLimit("3M", true)->soft, 3u << 20);
    EXPECT_EQ(parseLimit("1T", true)->soft, 1ull << 40);
}

TEST(Limits, RejectMalformedValues) {
    for (const char* bad : {":", "1:", ":1", "-1", "1.5", "10K", "x", "2:1", "1 2", "99999999999999999999"})
        EXPECT_FALSE(parseLimit(bad, false)) << bad;
    // A size so large it would wrap, or land on RLIM_INFINITY, is refused, not taken as unlimited.
    EXPECT_FALSE(parseLimit("16777216T", true));
    EXPECT_FALSE(parseLimit("1K", false)) << "suffixes are for sizes only";
}

}  // namespace
