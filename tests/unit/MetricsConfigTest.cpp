// The [hostd] keys of the metrics endpoint, and the numeric listen addresses they take.
#include "Config.h"
#include "ListenAddress.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using hostd::ListenAddress;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

hostd::ConfigLoad parseHost(const std::string& lines) {
    return hostd::parseConfig({hostd::ConfigText{"main.conf", "[hostd]\n" + lines}});
}

std::vector<std::string> issues(const hostd::ConfigLoad& load) {
    std::vector<std::string> out;
    for (const auto& i : load.issues) out.push_back(i.str());
    return out;
}

TEST(MetricsConfig, OffByDefault) {
    auto load = parseHost("");
    ASSERT_TRUE(load.ok());
    EXPECT_EQ(load.config->host.metricsListen, "");
    EXPECT_FALSE(load.config->host.metricsAllowRemote);
    EXPECT_EQ(load.config->host.metricsTokenFile, "");
}

TEST(MetricsConfig, LoopbackAddressesAreAccepted) {
    for (const char* a : {"127.0.0.1:9464", "127.1.2.3:0", "[::1]:9464", "localhost:9464"}) {
        auto load = parseHost(std::string("metrics_listen = ") + a + "\nmetrics_token_file = /etc/hostd/token\n");
        EXPECT_THAT(issues(load), IsEmpty()) << a;
    }
}

TEST(MetricsConfig, NonLoopbackIsRefusedWithFileAndLineUnlessRemoteIsAllowed) {
    auto load = parseHost("log_level = info\nmetrics_listen = 0.0.0.0:9464\n");
    EXPECT_THAT(issues(load), ElementsAre("main.conf:3: metrics_listen = '0.0.0.0:9464' is not a loopback address; set "
                                          "metrics_allow_remote = true to expose metrics to other hosts"));
    EXPECT_FALSE(load.ok());
    // The order of the two keys does not matter.
    EXPECT_THAT(issues(parseHost("metrics_allow_remote = true\nmetrics_listen = 192.0.2.1:9464\n")), IsEmpty());
    EXPECT_THAT(issues(parseHost("metrics_listen = [::]:9464\nmetrics_allow_remote = true\n")), IsEmpty());
    EXPECT_FALSE(parseHost("metrics_listen = [::]:9464\n").ok());
}

TEST(MetricsConfig, BadValuesAreErrorsWithFileAndLine) {
    auto load = parseHost("metrics_listen = example.com:80\nmetrics_allow_remote = maybe\nmetrics_token_file = token\n");
    EXPECT_THAT(issues(load),
                ElementsAre("main.conf:2: metrics_listen = 'example.com:80': 'example.com' is not a numeric IPv4 address "
                            "(or localhost; IPv6 in brackets)",
                            "main.conf:3: metrics_allow_remote = 'maybe' is not a boolean (true or false)",
                            "main.conf:4: metrics_token_file = 'token' must be an absolute path"));
    EXPECT_THAT(issues(parseHost("metrics_listen = 127.0.0.1:70000\n")),
                ElementsAre("main.conf:2: metrics_listen = '127.0.0.1:70000': port '70000' is not a number in [0, 65535]"));
}

TEST(MetricsConfig, DescribeListsTheKeys) {
    auto load = parseHost("metrics_listen = 127.0.0.1:9464\n");
    ASSERT_TRUE(load.ok());
    auto d = hostd::describe(load.config->host);
    std::map<std::string, std::string> m(d.begin(), d.end());
    EXPECT_EQ(m["metrics_listen"], "127.0.0.1:9464");
    EXPECT_EQ(m["metrics_allow_remote"], "false");
    EXPECT_EQ(m.count("metrics_token_file"), 1u);
}

TEST(ListenAddressTest, ParsesHostAndPort) {
    std::string why;
    auto a = ListenAddress::parse("[::1]:80", why);
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->ipv6);
    EXPECT_EQ(a->host, "::1");
    EXPECT_EQ(a->port, 80);
    EXPECT_EQ(a->str(), "[::1]:80");
    EXPECT_TRUE(a->loopback());
    EXPECT_FALSE(ListenAddress::parse("127.0.0.1", why));
    EXPECT_EQ(why, "expected HOST:PORT");
    EXPECT_FALSE(ListenAddress::parse("127.0.0.1:", why));
    EXPECT_FALSE(ListenAddress::parse("[::1:80", why));
    EXPECT_FALSE(ListenAddress::parse("10.0.0.1:80", why)->loopback());
    EXPECT_TRUE(ListenAddress::parse("[::ffff:127.0.0.1]:1", why)->loopback());
    EXPECT_FALSE(ListenAddress::parse("[::ffff:10.0.0.1]:1", why)->loopback());
}

}  // namespace
