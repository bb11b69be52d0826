#pragma once

// The fixture of the isolated-plugin tests (IsolationTest.cpp, IsolationPrivilegeTest.cpp):
// plugin a isolated, b a probe in hostd's process that keeps running throughout (and, with
// isolatedNeighbour(), n: an isolated probe that keeps running throughout too).
#include "ControlSupport.h"
#include "Harness.h"

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <string>

namespace hostd::test {

inline bool processGone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

class Isolation : public ControlTest {
protected:
    void SetUp() override {
        ControlTest::SetUp();
        install("b");
        std::filesystem::create_directory(path("state"));
    }
    /// hostd's section (plus extra), a isolated with sectionA, b in hostd's process.
    std::string config(const std::string& sectionA, const std::string& extra = "") const {
        return hostSection("state_dir = " + path("state") + "\nrestart_burst = 2\n" + extra) +
               probeSection("a", "isolation = process\n" + sectionA) + probeSection("b") +
               (_isolatedNeighbour ? probeSection("n", "isolation = process") : "");
    }
    /// Adds n, a well-behaved isolated probe, beside a and b (call before startWith).
    void isolatedNeighbour() {
        _isolatedNeighbour = true;
        install("n");
    }
    /// Starts hostd with a (fixture) isolated and b, and waits for its readiness line.
    HostdProcess& startWith(const std::string& fixture, const std::string& sectionA, const std::string& ready,
                            const std::string& extra = "") {
        install("a", fixture);
        writeConfig(config(sectionA, extra));
        auto& hostd = start();
        EXPECT_TRUE(waitForLog(ready)) << log();
        return hostd;
    }
    /// The pid a's last start event was written from.
    int lastStartPid(const std::string& name) const {
        auto starts = events("start");
        for (auto it = starts.rbegin(); it != starts.rend(); ++it)
            if (it->name == name) return it->pid;
        return 0;
    }
    /// The pid the log gives right after text ("contain: forked " PID), or 0 if it has none.
    pid_t loggedPid(const std::string& text) const {
        std::string all = log();
        auto at = all.find(text);
        return at == std::string::npos ? 0 : std::stoi(all.substr(at + text.size()));
    }
    /// SIGTERM; hostd drains b (and a, if it runs) and exits with code.
    void drainExpecting(HostdProcess& hostd, int code) {
        hostd.signal(SIGTERM);
        EXPECT_EQ(hostd.waitExit(15s), code) << log();
        EXPECT_EQ(countLog("plugin=b: stopped"), 1) << log();
        EXPECT_EQ(countLog("plugin=n: stopped"), _isolatedNeighbour ? 1 : 0) << log();
    }

private:
    bool _isolatedNeighbour = false;
};


}  // namespace hostd::test
