// hostctl's commands: the real hostctl binary against the real hostd, with lifecycle events
// from the probe fixture.
#include "ControlSupport.h"

#include <Poco/JSON/Array.h>

#include <csignal>
#include <filesystem>

namespace hostd::test {
namespace {

using Names = std::vector<std::string>;

class Control : public InBothIsolations<ControlTest> {
protected:
    void SetUp() override {
        InBothIsolations<ControlTest>::SetUp();
        for (auto n : {"a", "b", "c"}) install(n);
    }
    /// a; b requires a; c independent.
    std::string config(const std::string& host = "", const std::string& a = "") const {
        return hostSection(host) + probeSection("a", a) + probeSection("b", "requires = a") + probeSection("c");
    }
    Names eventsOf(const std::string& name) const {
        Names out;
        for (const auto& e : events())
            if (e.name == name) out.push_back(e.kind);
        return out;
    }
};

HOSTD_IN_BOTH_ISOLATIONS(Control);

TEST_P(Control, StatusShowsPhaseGenerationAndPluginCounts) {
    writeConfig(config());
    auto& hostd = startReady(3);
    CommandResult r = hostctl({"status"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("phase:        running"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("plugins:      3 running"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("last reload:  none since start"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("loader:       free"), std::string::npos) << r.out;
    auto s = json({"status"});
    EXPECT_EQ(s->getValue<int>("v"), 1);
    EXPECT_TRUE(s->getValue<bool>("ok"));
    EXPECT_EQ(s->getValue<int>("pid"), hostd.pid());
    EXPECT_EQ(s->getValue<int>("generation"), 1);
    EXPECT_EQ(s->getObject("plugins")->getValue<int>("running"), 3);
    EXPECT_EQ(s->getValue<std::string>("config"), configPath());
    EXPECT_TRUE(s->isNull("loader_held_by"));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
    EXPECT_FALSE(std::filesystem::exists(controlSocket()));  // removed on a clean exit
}

TEST_P(Control, StatusSaysWhichHungLoadHoldsTheLoaderAndTheCommandsStillWork) {
    if (GetParam() == "process")
        GTEST_SKIP() << "an isolated load never holds hostd's loader: Isolation.AConstructorThatNeverReturnsIsKilledAndHoldsNoLoader";
    install("b", "probe_constructor_hang");  // b's load never returns; the loop goes on elsewhere
    writeConfig(config("load_timeout = 300ms"));
    auto& hostd = startReady(1);  // a (c, loaded after b, is refused)
    CommandResult r = hostctl({"status"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("loader:       HELD by b's load, which never returned: restart hostd"), std::string::npos)
        << r.out;
    auto held = json({"status"})->getObject("loader_held_by");
    ASSERT_TRUE(held) << "no loader_held_by";
    EXPECT_EQ(held->getValue<std::string>("plugin"), "b");
    EXPECT_EQ(held->getValue<std::string>("call"), "load");
    EXPECT_EQ(hostctl({"stop", "a"}).code, 0);  // served by the loop's new thread
    ASSERT_TRUE(waitForLog("plugin=a: stopped"));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 4);  // kExitStopTimeout: b never finished loading
}

TEST_P(Control, ListShowsEveryPluginAsATableAndAsJson) {
    writeConfig(config());
    auto& hostd = startReady(3);
    CommandResult r = hostctl({"list"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("NAME  STATE    VERSION", 0), 0u) << r.out;
    EXPECT_NE(r.out.find("\nb     running  1.0.0"), std::string::npos) << r.out;
    auto plugins = json({"list"})->getArray("plugins");
    ASSERT_EQ(plugins->size(), 3u);
    auto b = plugins->getObject(1);
    EXPECT_EQ(b->getValue<std::string>("name"), "b");
    EXPECT_EQ(b->getValue<std::string>("state"), "running");
    EXPECT_EQ(b->getValue<std::string>("version"), "1.0.0");
    EXPECT_EQ(b->getValue<std::string>("file"), pluginDir() + "/b.so");
    EXPECT_EQ(b->getValue<std::string>("content").size(), 32u);
    EXPECT_EQ(b->getValue<std::string>("loaded_since").size(), 20u);  // 2026-01-01T00:00:00Z
    ASSERT_EQ(b->getArray("dependencies")->size(), 1u);
    EXPECT_EQ(b->getArray("dependencies")->getElement<std::string>(0), "a");
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_P(Control, StopStopsDependentsFirstAndThePluginStaysStoppedUntilStart) {
    writeConfig(config());
    auto& hostd = startReady(3);
    CommandResult r = hostctl({"stop", "a"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("stop a: accepted"), std::string::npos) << r.out;
    ASSERT_TRUE(waitForLog("plugin=b: not started reason=\"blocked by a (stopped)\""));
    EXPECT_EQ(names(events("stop")), (Names{"b", "a"}));
    auto plugins = json({"list"})->getArray("plugins");
    EXPECT_EQ(plugins->getObject(0)->getValue<std::string>("state"), "stopped");
    EXPECT_EQ(plugins->getObject(0)->getValue<std::string>("reason"), "stopped by an operator (hostctl stop)");
    EXPECT_EQ(plugins->getObject(2)->getValue<std::string>("state"), "running");  // c untouched
    EXPECT_EQ(hostctl({"stop", "a"}).err, "hostctl: a is already stopped\n");
    hostd.signal(SIGHUP);  // a reload does not bring it back
    ASSERT_TRUE(waitForLog("hostd: configuration reloaded"));
    EXPECT_EQ(eventsOf("a"), (Names{"start", "stop"}));

    ASSERT_EQ(hostctl({"start", "a"}).code, 0);
    ASSERT_TRUE(waitForEvents([](auto& ev) { return ev.size() == 7; }));
    EXPECT_EQ(eventsOf("a"), (Names{"start", "stop", "start"}));
    EXPECT_EQ(eventsOf("b"), (Names{"start", "stop", "start"}));
    EXPECT_LT(events("start")[3].ns, events("start")[4].ns);
    EXPECT_EQ(events("start")[3].name, "a");  // then its dependent
    EXPECT_EQ(hostctl({"start", "a"}).err, "hostctl: a is already running\n");
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_P(Control, RestartStopsDependentsFirstAndStartsThemAfter) {
    writeConfig(config());
    auto& hostd = startReady(3);
    ASSERT_EQ(hostctl({"restart", "a"}).code, 0);
    ASSERT_TRUE(waitForEvents([](auto& ev) { return ev.size() == 7; }));
    auto all = events();
    Names tail;
    for (std::size_t i = 3; i < all.size(); ++i) tail.push_back(all[i].kind + " " + all[i].name);
    EXPECT_EQ(tail, (Names{"stop b", "stop a", "start a", "start b"}));
    EXPECT_EQ(eventsOf("c"), (Names{"start"}));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_P(Control, StartLiftsAQuarantine) {
    writeConfig(config("restart_burst = 1", "fail = start"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("plugin=a: quarantined"));
    auto a = json({"list"})->getArray("plugins")->getObject(0);
    EXPECT_EQ(a->getValue<std::string>("state"), "quarantined");
    EXPECT_NE(a->getValue<std::string>("quarantine_reason").find("1 failures within 5m"), std::string::npos);
    EXPECT_EQ(a->getValue<std::string>("quarantined_since").size(), 20u);
    EXPECT_EQ(a->getValue<std::string>("last_error"), a->getValue<std::string>("quarantine_reason"));
    CommandResult r = hostctl({"restart", "a"});  // not running: the same as start
    ASSERT_EQ(r.code, 0) << r.err;
    ASSERT_TRUE(waitForLog("plugin=a: quarantine lifted reason=\"an operator started it (hostctl)\""));
    ASSERT_TRUE(waitForLog("plugin=a: quarantined", 15s, 2));  // it still fails, and is quarantined again
    EXPECT_EQ(eventsOf("a"), (Names{"start", "start"}));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_P(Control, ReloadWithANameCallsThatPluginsReloadAndWithoutOneRereadsTheConfiguration) {
    writeConfig(config());
    auto& hostd = startReady(3);
    ASSERT_EQ(hostctl({"reload", "a"}).code, 0);
    ASSERT_TRUE(waitForEvents([](auto& ev) { return ev.size() == 4; }));
    EXPECT_EQ(eventsOf("a"), (Names{"start", "reload"}));
    EXPECT_EQ(hostctl({"reload"}).out, "configuration reloaded: generation 2\n");
    auto last = json({"status"})->getObject("last_reload");
    EXPECT_TRUE(last->getValue<bool>("ok"));
    EXPECT_EQ(last->getValue<std::string>("reason"), "hostctl reload");
    writeConfig(config("stop_timeout = soon"));
    CommandResult bad = hostctl({"reload"});
    EXPECT_EQ(bad.code, 1);
    EXPECT_NE(bad.err.find("configuration reload failed, generation 2 stays in effect: " + configPath() + ":3: "),
              std::string::npos) << bad.err;
    EXPECT_FALSE(json({"status"})->getObject("last_reload")->getValue<bool>("ok"));
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_P(Control, LogLevelChangesTheHostsLevelAndAPluginsFilter) {
    writeConfig(config());
    auto& hostd = startReady(3);
    EXPECT_EQ(countLog("plugin=c: starting"), 0);  // a debug line
    ASSERT_EQ(hostctl({"log-level", "debug"}).out, "log level debug\n");
    ASSERT_EQ(hostctl({"restart", "c"}).code, 0);
    EXPECT_TRUE(waitForLog("plugin=c: starting"));
    EXPECT_EQ(hostctl({"log-level", "error", "c"}).out, "log level error for plugin c\n");
    EXPECT_EQ(countLog("plugin=c: log level set until the next configuration reload level=error"), 1);
    CommandResult bad = hostctl({"log-level", "loud"});
    EXPECT_EQ(bad.code, 1);
    EXPECT_EQ(bad.err, "hostctl: unknown log level 'loud' (error, warning, notice, info, debug)\n");
    EXPECT_EQ(hostctl({"log-level", "info", "nosuch"}).err, "hostctl: unknown plugin nosuch\n");
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_P(Control, TopShowsEachPluginsCpuAndCalls) {
    writeConfig(config());
    auto& hostd = startReady(3);
    ASSERT_EQ(hostctl({"restart", "c"}).code, 0);
    ASSERT_TRUE(waitForEvents([](const std::vector<Event>& e) { return names(e).size() >= 5; }));  // 3 starts, c stop+start
    ASSERT_TRUE(waitForLog("plugin=c: started", 15s, 2));
    CommandResult r = hostctl({"top"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("NAME  STATE    CPU_S  CALLBACKS_S  THREADS_S  THREADS  CALLS  RUNNER\n", 0), 0u) << r.out;
    auto plugins = json({"top"})->getArray("plugins");
    ASSERT_EQ(plugins->size(), 3u);
    for (std::size_t i = 0; i < plugins->size(); ++i) {
        auto p = plugins->getObject(static_cast<unsigned>(i));
        std::string name = p->getValue<std::string>("name");
        auto calls = p->getObject("calls");
        ASSERT_TRUE(calls) << name;
        EXPECT_EQ(calls->getObject("start")->getValue<int>("count"), name == "c" ? 2 : 1) << name;
        EXPECT_EQ(calls->has("stop") ? calls->getObject("stop")->getValue<int>("count") : 0, name == "c" ? 1 : 0) << name;
        EXPECT_GE(p->getObject("cpu_seconds")->getValue<double>("callbacks"), 0.0) << name;
        if (GetParam() == "process") {  // its image is mapped in its runner, not in hostd
            ASSERT_FALSE(p->isNull("runner")) << name;
            EXPECT_GT(p->getObject("runner")->getValue<long long>("resident_bytes"), 0) << name;
            auto restarts = p->getObject("restarts");
            EXPECT_EQ(restarts->has("operator") ? restarts->getValue<int>("operator") : 0, name == "c" ? 1 : 0) << name;
        } else {
            EXPECT_GT(p->getObject("image")->getValue<long long>("mapped_bytes"), 0) << name;
        }
    }
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

TEST_P(Control, ErrorsExitNonZeroWithTheReason) {
    writeConfig(config());
    auto& hostd = startReady(3);
    CommandResult r = hostctl({"stop", "nosuch"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "hostctl: unknown plugin nosuch\n");
    EXPECT_EQ(hostctl({"--json", "start", "nosuch"}).out, "{\"error\":\"unknown plugin nosuch\",\"ok\":false,\"v\":1}\n");
    EXPECT_EQ(hostctl({}).code, 64);
    EXPECT_EQ(hostctl({"stop"}).code, 64);
    EXPECT_EQ(hostctl({"stop", "a", "b"}).code, 64);
    EXPECT_EQ(hostctl({"frobnicate"}).code, 64);
    EXPECT_EQ(hostctl({"--bogus", "status"}).code, 64);
    CommandResult help = hostctlRaw({"--help"});
    EXPECT_EQ(help.code, 0);
    EXPECT_EQ(help.out.rfind("usage: hostctl", 0), 0u);
    // The socket named by the configuration, as hostd reads it.
    EXPECT_EQ(hostctlRaw({"--config=" + configPath(), "status"}).code, 0);
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
    r = hostctl({"status"});
    EXPECT_EQ(r.code, 69);
    EXPECT_EQ(r.err, "hostctl: hostd is not running (no socket at " + controlSocket() + ")\n");
    r = hostctlRaw({"--config=" + path("nosuch.conf"), "status"});
    EXPECT_EQ(r.code, 78) << r.err;
}

}  // namespace
}  // namespace hostd::test
