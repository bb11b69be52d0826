// Idle cost is zero: once its plugins run and nothing happens, hostd does not wake at all. No
// thread of it (the main loop, idle call workers) is scheduled while it is left alone; every
// wake-up comes from an event (signalfd, inotify, eventfd) or a deadline that is due.
#include "DaemonSupport.h"

#include <csignal>
#include <utility>
#include <thread>

namespace hostd::test {
namespace {

/// Context switches (voluntary and not) of every thread of pid, by thread "tid (name)".
std::map<std::string, long> switchesByThread(pid_t pid) {
    std::map<std::string, long> out;
    for (pid_t tid : threadsOf(pid)) {
        auto s = procStatus(pid, tid);
        out[std::to_string(tid) + " (" + s["Name"] + ")"] =
            std::stol("0" + s["voluntary_ctxt_switches"]) + std::stol("0" + s["nonvoluntary_ctxt_switches"]);
    }
    return out;
}

class Idle : public HostdTest {};

TEST_F(Idle, AnIdleHostdIsNeverScheduled) {
    HOSTD_SKIP_UNDER_THREAD_SANITIZER("its runtime has a thread of its own that wakes up");
    for (auto n : {"a", "b", "c"}) install(n);
    writeConfig(hostSection() + probeSection("a") + probeSection("b", "requires = a") + probeSection("c"));
    auto& hostd = start();
    ASSERT_TRUE(waitForLog("hostd: ready running=3"));
    // Let the tail of the startup (completions, log lines, idle workers parking) settle: the
    // window below must see an idle process. Settled = no switch at all for 300 ms.
    auto before = switchesByThread(hostd.pid());
    ASSERT_TRUE(waitUntil(
        [&] {
            std::this_thread::sleep_for(300ms);
            auto now = switchesByThread(hostd.pid());
            return std::exchange(before, now) == now;
        },
        10s));
    ASSERT_FALSE(before.empty());
    // The measurement window itself (not a synchronisation): any timer or polling loop, even
    // Poco's 250 ms accept poll, would wake at least once in it.
    std::this_thread::sleep_for(1500ms);
    auto after = switchesByThread(hostd.pid());
    for (const auto& [thread, count] : after) {
        auto it = before.find(thread);
        long was = it == before.end() ? 0 : it->second;
        EXPECT_EQ(count, was) << "thread " << thread << " woke " << (count - was) << " time(s) while idle";
    }
    EXPECT_EQ(after.size(), before.size()) << "threads came or went while idle";
    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0);
}

}  // namespace
}  // namespace hostd::test
