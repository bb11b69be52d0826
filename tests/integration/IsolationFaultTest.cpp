// Faults of an isolated plugin that end its runner, one row each: plugin a (isolated) faults,
// b (in hostd's process) and n (isolated) keep running throughout, and hostd says what happened
// and where.
#include "IsolationSupport.h"

#include <chrono>
#include <ostream>

namespace hostd::test {
namespace {

struct Fault {
    const char* name;
    const char* fixture;
    const char* sectionA;
    const char* ready;  ///< hostd's readiness line with a faulted
    const char* said;   ///< what hostd logs about a
    int drainExit = 0;  ///< the drain's exit code; non-zero: `said` is logged by the drain
};

std::ostream& operator<<(std::ostream& out, const Fault& f) { return out << f.name; }

class IsolationFault : public Isolation, public ::testing::WithParamInterface<Fault> {};

TEST_P(IsolationFault, EndsOnlyItsRunnerAndIsNamed) {
    const Fault& f = GetParam();
    isolatedNeighbour();
    auto& hostd = startWith(f.fixture, f.sectionA, f.ready);
    if (f.drainExit == 0) {
        ASSERT_TRUE(waitForLog(f.said)) << log();
    }
    auto begun = std::chrono::steady_clock::now();
    drainExpecting(hostd, f.drainExit);  // b stopped once: it ran throughout
    EXPECT_LT(std::chrono::steady_clock::now() - begun, 10s);
    EXPECT_GE(countLog(f.said), 1) << log();
}

const Fault kFaults[] = {
    {"AbortInAConstructor", "probe_constructor_abort", "", "hostd: ready running=2",
     "its runner crashed (SIGABRT) while loading the plugin"},
    {"AbortInStart", "probe", "crash = start\ncrash_with = abort\nrestart = no", "hostd: ready running=2 failed=1",
     "error=\"failed: its runner crashed (SIGABRT) in start\""},
    {"AbortInStop", "probe", "crash = stop\ncrash_with = abort", "hostd: ready running=3",
     "error=\"failed: its runner crashed (SIGABRT) in stop\"", 3},
    {"AbortInItsOwnThread", "probe", "crash = thread\ncrash_with = abort", "hostd: ready running=3",
     "plugin=a: its runner crashed (SIGABRT); restarting it"},
    {"SegvInItsOwnThread", "probe", "crash = thread\ncrash_with = segv", "hostd: ready running=3",
     "plugin=a: its runner crashed (SIGSEGV); restarting it"},
    {"StackOverflowInStart", "probe", "crash = start\ncrash_with = overflow\nrestart = no", "hostd: ready running=2 failed=1",
     "error=\"failed: its runner crashed (SIGSEGV) in start\""},
    {"StdoutFlood", "contain_printflood", "log_rate_limit = 200", "hostd: ready running=3",
     "plugin=a: plugin lines suppressed: more than log_rate_limit a second suppressed="},
};

INSTANTIATE_TEST_SUITE_P(, IsolationFault, ::testing::ValuesIn(kFaults),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace hostd::test
