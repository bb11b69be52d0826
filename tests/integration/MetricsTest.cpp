// The metrics endpoint from outside: a real HTTP client against the real daemon. /metrics is
// parsed strictly (and by promtool when installed) and its numbers follow what happens; health,
// readiness, the bearer token, the address rules, the debug views, and slow clients.
#include "MetricsSupport.h"
#include "Sockets.h"

#include <arpa/inet.h>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <cstring>
#include <thread>
#include <unistd.h>

namespace hostd::test {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

/// The object of `array` whose `key` is `value`, or null.
Object::Ptr findBy(const Poco::JSON::Array::Ptr& array, const std::string& key, const std::string& value) {
    for (std::size_t i = 0; array && i < array->size(); ++i) {
        Object::Ptr o = array->getObject(static_cast<unsigned>(i));
        if (o && o->has(key) && o->getValue<std::string>(key) == value) return o;
    }
    return nullptr;
}

TEST_F(MetricsTest, AHungLoadShowsAsTheLoaderHeld) {
    install("a");
    install("b", "probe_constructor_hang");
    writeConfig(metricsSection("load_timeout = 300ms") + probeSection("a") + probeSection("b"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("plugin=b: plugin code did not return from its load")) << log();
    EXPECT_EQ(scrape().value("hostd_loader_held"), 1);  // an alert: hostd needs a restart
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 4);
}

TEST_F(MetricsTest, MetricsCountPluginStatesCallsAndReloads) {
    install("a");
    install("b");
    std::string plugins = probeSection("a") + probeSection("b", "fail = start\nrestart = no");
    writeConfig(metricsSection() + plugins);
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready"));
    auto m = scrape();
    EXPECT_EQ(m.value("hostd_plugins", {{"state", "running"}}), 1);
    EXPECT_EQ(m.value("hostd_plugins", {{"state", "failed"}}), 1);
    EXPECT_EQ(m.value("hostd_plugin_call_duration_seconds_count", {{"plugin", "a"}, {"call", "start"}}), 1);
    EXPECT_EQ(m.value("hostd_plugin_call_duration_seconds_count", {{"plugin", "b"}, {"call", "start"}}), 1);
    EXPECT_EQ(m.value("hostd_plugin_call_failures_total", {{"plugin", "b"}, {"call", "start"}}), 1);
    EXPECT_EQ(m.value("hostd_plugin_call_failures_total", {{"plugin", "a"}, {"call", "start"}}), 0);
    EXPECT_EQ(m.value("hostd_config_reloads_total", {{"result", "ok"}}), 0);
    EXPECT_EQ(m.value("hostd_ready"), 1);
    EXPECT_EQ(m.value("hostd_loader_held"), 0);

    hostd.signal(SIGHUP);
    ASSERT_TRUE(waitForLog("configuration reloaded"));
    EXPECT_EQ(scrape().value("hostd_config_reloads_total", {{"result", "ok"}}), 1);

    writeConfig(metricsSection("no_such_key = 1") + plugins);  // the file watch reloads it
    ASSERT_TRUE(waitForLog("configuration reload failed"));
    m = scrape();
    EXPECT_EQ(m.value("hostd_config_reloads_total", {{"result", "failed"}}), 1);
    EXPECT_EQ(m.value("hostd_config_reloads_total", {{"result", "ok"}}), 1);

    writeConfig(metricsSection() + probeSection("a", "changed = yes") + probeSection("b", "fail = start\nrestart = no"));
    ASSERT_TRUE(waitForLog("plugin=a: reloaded"));
    m = scrape();
    EXPECT_EQ(m.value("hostd_config_reloads_total", {{"result", "ok"}}), 2);
    EXPECT_EQ(m.value("hostd_plugin_call_duration_seconds_count", {{"plugin", "a"}, {"call", "reload"}}), 1);
    EXPECT_EQ(m.value("hostd_plugin_call_duration_seconds_bucket", {{"plugin", "a"}, {"call", "reload"}, {"le", "+Inf"}}), 1);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_F(MetricsTest, RefusedFilesAndDirectoryEventsAreCounted) {
    install("a");
    writeConfig(metricsSection() + probeSection("a"));
    start();
    ASSERT_TRUE(waitForLog("hostd: ready"));
    EXPECT_EQ(scrape().find("hostd_plugin_load_failures_total", {{"reason", "not_elf"}}), nullptr);
    install("bad", "not_elf");
    ASSERT_TRUE(waitForLog("plugin=bad: cannot load plugin"));
    auto m = scrape();
    EXPECT_EQ(m.value("hostd_plugin_load_failures_total", {{"reason", "not_elf"}}), 1);
    EXPECT_GE(m.value("hostd_plugin_dir_events_total", {{"kind", "file_ready"}}), 1);
    EXPECT_EQ(m.value("hostd_plugins", {{"state", "invalid"}}), 1);
    std::filesystem::remove(pluginDir() + "/a.so");
    ASSERT_TRUE(waitForLog("plugin=a: removed"));
    m = scrape();
    EXPECT_GE(m.value("hostd_plugin_dir_events_total", {{"kind", "file_gone"}}), 1);
    EXPECT_EQ(m.value("hostd_plugins", {{"state", "running"}}), 0);
    EXPECT_EQ(m.find("hostd_plugin_call_duration_seconds_count", {{"plugin", "a"}}), nullptr);  // forgotten
}

TEST_F(MetricsTest, HealthzIsOkThenNamesWhatDoesNotRun) {
    install("a");
    install("b");
    std::string b = probeSection("b", "fail = start\nrestart = no");
    writeConfig(metricsSection() + probeSection("a") + b + "enabled = false\n");
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready"));
    auto ok = json("/healthz");  // a disabled plugin is not expected to run
    EXPECT_EQ(ok->getValue<std::string>("status"), "ok");
    EXPECT_EQ(ok->getArray("not_running")->size(), 0u);

    writeConfig(metricsSection() + probeSection("a") + b);
    ASSERT_TRUE(waitForLog("plugin=b: start failed"));
    auto health = json("/healthz", 503);
    EXPECT_EQ(health->getValue<std::string>("status"), "failing");
    auto failed = findBy(health->getArray("not_running"), "plugin", "b");
    ASSERT_TRUE(failed);
    EXPECT_EQ(failed->getValue<std::string>("state"), "failed");
    EXPECT_NE(failed->getValue<std::string>("reason").find("probe: injected failure in start"), std::string::npos);
    EXPECT_FALSE(findBy(health->getArray("not_running"), "plugin", "a"));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_F(MetricsTest, ReadyzFollowsStartupAndTheDrain) {
    install("slow");
    writeConfig(metricsSection() + probeSection("slow", "start_delay_ms = 1500\nstop_delay_ms = 1500"));
    auto& hostd = start();
    ASSERT_NE(port(), 0);  // listening before the plugins start: the start takes 1.5 s more
    auto early = json("/readyz", 503);
    EXPECT_EQ(early->getValue<std::string>("phase"), "starting");
    // The call thread running start is the plugin's while the call lasts (polled: under load
    // the listener may answer before the load and the start have begun).
    Poco::JSON::Object::Ptr caller;
    waitUntil([&] { return (caller = findBy(json("/debug/threads")->getArray("threads"), "owner", "slow")) != nullptr; }, 15s);
    ASSERT_TRUE(caller) << "the thread running slow's start is not attributed to it";
    EXPECT_EQ(caller->getValue<std::string>("in_call"), "start");
    ASSERT_TRUE(waitForLog("hostd: ready"));
    EXPECT_EQ(json("/readyz")->getValue<std::string>("status"), "ready");
    EXPECT_EQ(scrape().value("hostd_drain_duration_seconds"), 0);

    hostd.signal(SIGTERM);
    ASSERT_TRUE(waitForLog("plugin=slow: stopping"));
    EXPECT_EQ(json("/readyz", 503)->getValue<std::string>("phase"), "draining");
    auto m = scrape();
    EXPECT_GT(m.value("hostd_drain_duration_seconds"), 0);
    EXPECT_EQ(m.value("hostd_ready"), 0);
    EXPECT_EQ(m.value("hostd_plugins", {{"state", "stopping"}}), 1);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_F(MetricsTest, BearerTokenIsRequiredWhenConfigured) {
    std::string tokenFile = path("metrics.token");
    std::ofstream(tokenFile) << "s3cret-token\n";
    ::chmod(tokenFile.c_str(), 0600);
    writeConfig(metricsSection("metrics_token_file = " + tokenFile));
    start();
    auto denied = get("/metrics");
    EXPECT_EQ(denied.status, 401);
    EXPECT_EQ(denied.headers["WWW-Authenticate"], "Bearer realm=\"hostd\"");
    EXPECT_EQ(get("/metrics", "s3cret-tokeX").status, 401);
    EXPECT_EQ(get("/metrics", "s3cret-token-and-more").status, 401);
    EXPECT_EQ(get("/no/such/path").status, 401);  // nothing is revealed without the token
    EXPECT_EQ(get("/healthz", "s3cret-token").status, 200);
    scrape("s3cret-token");
    EXPECT_EQ(countLog("token=required"), 1);
    EXPECT_EQ(countLog("s3cret"), 0);
}

TEST_F(MetricsTest, TokenFileReadableByOthersIsRefusedAtStart) {
    std::string tokenFile = path("metrics.token");
    std::ofstream(tokenFile) << "s3cret-token\n";
    ::chmod(tokenFile.c_str(), 0640);
    writeConfig(metricsSection("metrics_token_file = " + tokenFile));
    EXPECT_EQ(start().waitExit(15s), 78);
    EXPECT_EQ(countLog("metrics_token_file " + tokenFile + ": refused: group- or world-accessible (mode 0640)"), 1)
        << log();
    EXPECT_EQ(start({"--check-config"}).waitExit(15s), 78);  // --check-config says so too, with the line
    EXPECT_EQ(countLog(configPath() + ":5: metrics_token_file " + tokenFile + ": refused"), 1) << log();
}

TEST_F(MetricsTest, NonLoopbackAddressIsAConfigErrorUnlessRemoteIsAllowed) {
    writeConfig(hostSection("metrics_listen = 0.0.0.0:0"));
    EXPECT_EQ(start({"--check-config"}).waitExit(15s), 78);
    EXPECT_EQ(countLog(configPath() + ":3: metrics_listen = '0.0.0.0:0' is not a loopback address; set "
                                      "metrics_allow_remote = true"), 1) << log();
    EXPECT_EQ(start().waitExit(15s), 78);  // refused before anything binds
    EXPECT_EQ(countLog("metrics listening"), 0);

    writeConfig(hostSection("metrics_listen = 0.0.0.0:0\nmetrics_allow_remote = true"));
    EXPECT_EQ(start({"--check-config"}).waitExit(15s), 0) << log();
}

TEST_F(MetricsTest, AnAddressInUseStopsTheStartWithItsReason) {
    int taken = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::bind(taken, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(taken, 1), 0);
    ::getsockname(taken, reinterpret_cast<sockaddr*>(&addr), &len);
    std::string address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    install("a");
    writeConfig(hostSection("state_dir = " + path("") + "\nmetrics_listen = " + address) + probeSection("a"));
    EXPECT_EQ(start().waitExit(15s), 71);
    ::close(taken);
    EXPECT_EQ(countLog("metrics_listen: bind " + address + ": Address already in use"), 1) << log();
    EXPECT_TRUE(events("start").empty()) << "a plugin started although the endpoint could not be set up";
}

TEST_F(MetricsTest, UnknownPathIs404AndOtherMethodsAre405) {
    writeConfig(metricsSection());
    start();
    EXPECT_EQ(get("/nope").status, 404);
    EXPECT_EQ(get("/metrics/").status, 404);
    auto post = get("/metrics", "", "POST");
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(post.headers["Allow"], "GET");
    EXPECT_EQ(get("/healthz", "", "DELETE").status, 405);
    EXPECT_EQ(get("/metrics?name[]=x").status, 200);  // a query string is ignored
}

TEST_F(MetricsTest, DebugViewsAttributeThreadsCpuAndImagesToPlugins) {
    std::filesystem::copy_file(HOSTD_HEARTBEAT_PLUGIN, pluginDir() + "/heartbeat.so");
    ::chmod((pluginDir() + "/heartbeat.so").c_str(), 0644);
    install("a");
    writeConfig(metricsSection() + "[plugin.heartbeat]\ninterval = 60m\n" + probeSection("a"));
    start();
    ASSERT_TRUE(waitForLog("hostd: ready running=2"));

    // heartbeat's thread tags itself once it runs, which may be just after its start returned.
    Poco::JSON::Array::Ptr threads;
    Poco::JSON::Object::Ptr beat;
    ASSERT_TRUE(waitUntil([&] {
        threads = json("/debug/threads")->getArray("threads");
        beat = findBy(threads, "owner", "heartbeat");
        return bool(beat);
    }, 10s)) << "no thread attributed to heartbeat";
    EXPECT_EQ(beat->getValue<std::string>("name"), "heartbeat");
    EXPECT_EQ(beat->getValue<std::string>("tag"), "heartbeat");
    EXPECT_FALSE(beat->getValue<std::string>("state").empty());
    EXPECT_GE(beat->getValue<double>("cpu_seconds"), 0);
    auto http = findBy(threads, "name", "hostd-http");
    ASSERT_TRUE(http);
    EXPECT_EQ(http->getValue<std::string>("owner"), "host");

    auto plugins = json("/debug/plugins")->getArray("plugins");
    auto hb = findBy(plugins, "name", "heartbeat");
    ASSERT_TRUE(hb);
    EXPECT_EQ(hb->getValue<std::string>("state"), "running");
    EXPECT_EQ(hb->getValue<int>("threads"), 1);
    EXPECT_GT(hb->getObject("cpu_seconds")->getValue<double>("callbacks"), 0);
    EXPECT_EQ(hb->getObject("calls")->getObject("start")->getValue<int>("count"), 1);
    EXPECT_GT(hb->getObject("image")->getValue<long long>("mapped_bytes"), 0);
    auto a = findBy(plugins, "name", "a");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->getValue<int>("threads"), 0);  // the probe starts no thread of its own here

    auto memory = json("/debug/memory");
    EXPECT_GT(memory->getValue<long long>("rss_bytes"), 0);
    EXPECT_TRUE(memory->getObject("heap")->has("in_use_bytes"));
    auto images = memory->getArray("plugin_images");
    EXPECT_TRUE(findBy(images, "plugin", "heartbeat"));
    EXPECT_TRUE(findBy(images, "plugin", "a"));
    EXPECT_GE(scrape().value("hostd_threads", {{"owner", "heartbeat"}}), 1);
}

/// Context switches of the endpoint's threads (named hostd-http*) of pid: unchanged while
/// nothing wakes any of them. (The main thread also wakes for inotify events in the config
/// file's parent directory, /tmp here, which other tests keep busy.)
long long contextSwitches(pid_t pid) {
    long long total = 0;
    int threads = 0;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
        if (readFile(task.path() / "comm").rfind("hostd-http", 0) != 0) continue;
        ++threads;
        std::ifstream in(task.path() / "status");
        for (std::string line; std::getline(in, line);)
            if (line.find("ctxt_switches:") != std::string::npos) total += std::stoll(line.substr(line.find(':') + 1));
    }
    EXPECT_EQ(threads, 5) << "4 workers and the deadline thread";
    return total;
}

TEST_F(MetricsTest, TheIdleEndpointDoesNotWakeUp) {
    install("a");
    writeConfig(metricsSection() + probeSection("a"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready"));
    EXPECT_EQ(get("/metrics").status, 200);  // every worker has run once
    std::this_thread::sleep_for(300ms);        // settle: the last response is written and closed
    long long before = contextSwitches(hostd.pid());
    std::this_thread::sleep_for(1500ms);       // a measurement window, not a synchronisation
    EXPECT_EQ(contextSwitches(hostd.pid()), before) << "a thread of the idle endpoint woke up";
}

/// A TCP connection to the endpoint that sends part of a request head and then nothing.
int slowClient(int port) {
    int fd = connectLoopback(port);
    if (fd < 0) return -1;
    const char partial[] = "GET /metrics HTTP/1.1\r\nHost: slow\r\n";
    [[maybe_unused]] auto n = ::send(fd, partial, sizeof partial - 1, MSG_NOSIGNAL);
    return fd;
}

TEST_F(MetricsTest, SlowClientsDoNotBlockOthersAndAreCutOffAtTheDeadline) {
    writeConfig(metricsSection());
    start();
    ASSERT_NE(port(), 0);
    std::vector<int> slow{slowClient(port())};
    auto began = std::chrono::steady_clock::now();
    EXPECT_EQ(get("/metrics").status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - began, 2s) << "one slow client held up another";

    // More slow clients than workers: a request waits, but the deadline frees the workers.
    for (int i = 0; i < 4; ++i) slow.push_back(slowClient(port()));
    began = std::chrono::steady_clock::now();
    EXPECT_EQ(get("/metrics").status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - began, 15s);
    for (int fd : slow) {
        ASSERT_GE(fd, 0);
        timeval tv{15, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[512];
        ssize_t n = 0;
        while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) {}  // an error response may come first
        EXPECT_TRUE(n == 0 || errno == ECONNRESET) << "slow connection still open: " << std::strerror(errno);
        ::close(fd);
    }
}

TEST_F(MetricsTest, AnIsolatedPluginsRunnerIsCountedAndMeasured) {
    writeConfig(metricsSection() + probeSection("a", "isolation = process"));
    install("a");
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=1"));
    auto m = scrape();
    EXPECT_EQ(m.value("hostd_plugin_runner_starts_total", {{"plugin", "a"}}), 1);
    EXPECT_GT(m.value("hostd_plugin_runner_resident_bytes", {{"plugin", "a"}}), 0);
    auto starts = events("start");
    ASSERT_EQ(starts.size(), 1u);
    ::kill(starts[0].pid, SIGKILL);  // the runner, from outside
    ASSERT_TRUE(waitForMetric("hostd_plugin_runner_starts_total", {{"plugin", "a"}}, 2)) << log();
    m = scrape();
    EXPECT_EQ(m.value("hostd_plugin_runner_ends_total", {{"plugin", "a"}, {"how", "killed"}}), 1);
    EXPECT_EQ(m.value("hostd_plugin_restarts_total", {{"plugin", "a"}, {"reason", "killed"}}), 1);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_F(MetricsTest, ARestartAfterAReportedFailureIsCountedUnderItsReason) {
    writeConfig(metricsSection() + probeSection("a", "report_failure_after_ms = 50") + probeSection("b"));
    install("a");
    install("b");
    auto& hostd = start();
    ASSERT_TRUE(waitForMetric("hostd_plugin_restarts_total", {{"plugin", "a"}, {"reason", "reported"}}, 1)) << log();
    auto m = scrape();
    EXPECT_EQ(m.find("hostd_plugin_restarts_total", {{"plugin", "b"}, {"reason", "reported"}}), nullptr);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

}  // namespace
}  // namespace hostd::test
