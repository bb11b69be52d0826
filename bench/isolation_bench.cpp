// Isolated plugins (isolation = process) against in-process ones and an isolation floor, all
// measured in this run through hostd's own executors (executor/ProcessExecutor and
// InProcessExecutor, the code hostd runs), on plugins as the build makes them:
//   (a) load of tiny.so: private copy -> code ready to start. Floor: the in-process load plus
//       posix_spawn of /bin/true (a trivial process, reaped) plus one socketpair round trip.
//       Goal: isolated p99 <= 1.5x the floor.
//   (b) a no-op reload of probe.so, call -> completion: isolated against in-process.
//   (c) 200 plugins loaded and started (tiny.so), isolated against in-process.
//   (d) the proportional memory (PSS, smaps_rollup) of an idle runner holding tiny.so.
//       Goal: <= 1 MB.
// Runners get seccomp = default, as every isolated plugin does; $ISOLATION_SECCOMP=off or
// strict measures another mode.
#include "BenchUtil.h"

#include "InProcessExecutor.h"
#include "Log.h"
#include "ProcessExecutor.h"

#include <hostd/plugin.h>

#include <algorithm>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace hostd;
using bench::Ns;

namespace {

const std::string kFixtures = HOSTD_FIXTURE_DIR;

void noLog(const hostd_type_context*, hostd_type_log_level, const char*, size_t) {}
int notStopping(const hostd_type_context*) { return 0; }
hostd_type_result configGet(const hostd_type_config*, const char*, size_t, hostd_type_str*) { return HOSTD_ERR_NOT_FOUND; }
void noReport(const hostd_type_context*, const char*, size_t) {}
void noTag(const hostd_type_context*, const char*, size_t) {}
const hostd_type_services kServices{sizeof(hostd_type_services), 0, &noLog, &notStopping, &configGet, &noReport, &noTag};

struct Setup {
    bench::TempDir dir{"hostd-isolation"};
    UniqueFd dirFd;
    ConfigPtr config = makeConfig();
    static ConfigPtr makeConfig() {
        auto c = std::make_shared<ConfigSnapshot>();
        if (const char* mode = std::getenv("ISOLATION_SECCOMP")) c->plugins["tiny"].confinement.seccomp = mode;
        return c;
    }
    InProcessExecutor inProcess{[](const LoadWatch::Job&) { std::abort(); }};
    // hostd-runner is beside hostd, not beside this bench, where the executor would look.
    ProcessExecutor isolated{HOSTD_RUNNER, [](const std::string&, const std::string&, bool) {},
                             [this] { return config; }};
    Setup() {
        for (const char* f : {"tiny.so", "probe.so"}) fs::copy_file(kFixtures + "/" + f, dir.path() + "/" + f);
        dirFd.reset(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    }
    PluginFile read(const std::string& file) { return PluginFile::read(dirFd.get(), file, TrustPolicy{}); }
};

/// Waits for call id on executor e; returns its result. Completions of other calls are kept
/// for their own await.
CallResult await(PluginExecutor& e, std::uint64_t id) {
    static std::map<std::uint64_t, CallResult> early;
    for (;;) {
        if (auto it = early.find(id); it != early.end()) {
            CallResult r = std::move(it->second);
            early.erase(it);
            return r;
        }
        pollfd p{e.completionFd(), POLLIN, 0};
        ::poll(&p, 1, 10000);
        for (auto& [done, result] : e.takeCompleted()) early[done] = std::move(result);
    }
}

CallRequest request(const std::string& plugin, const hostd_type_context* ctx, ConfigPtr config) {
    CallRequest r;
    r.plugin = plugin;
    r.context = ctx;
    r.config = std::move(config);
    r.deadline = Clock::now() + std::chrono::seconds(10);
    return r;
}

double pssKb(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("Pss:", 0) == 0) return std::stod(line.substr(4));
    return 0;
}

}  // namespace

int main() {
    ::umask(022);
    Log::setLevel(Level::Warning);  // the plugins' info lines are not what is measured
    Setup s;
    hostd_type_context ctx{sizeof(hostd_type_context), 0, {"tiny", 4}, &kServices, nullptr};
    constexpr int kLoads = 200, kReloads = 2000, kCold = 200;
    bool met = true;

    // (a) load, interleaved.
    std::vector<Ns> inProcess, isolated, floor;
    for (int i = 0; i < kLoads; ++i) {
        Ns t0 = bench::monotonicNs();
        auto code = s.inProcess.load(s.read("tiny.so"), Millis(10000));
        Ns in = bench::monotonicNs() - t0;
        s.inProcess.unload("tiny", std::move(code), Millis(10000));
        inProcess.push_back(in);
        floor.push_back(in + bench::spawnAndRoundTrip());
        t0 = bench::monotonicNs();
        code = s.isolated.load(s.read("tiny.so"), Millis(10000));
        isolated.push_back(bench::monotonicNs() - t0);
        s.isolated.unload("tiny", std::move(code), Millis(10000));
    }
    auto pIn = bench::percentiles(inProcess), pFloor = bench::percentiles(floor), pIso = bench::percentiles(isolated);
    bench::printTable("(a) load of tiny.so: private copy -> code ready to start (" + std::to_string(kLoads) + " each)",
                      {{"isolation floor: in-process load + spawn of /bin/true + socketpair round trip", pFloor, nullptr},
                       {"in-process load", pIn, &pFloor},
                       {"isolated load (spawn hostd-runner, handshake, confine, dlopen)", pIso, &pFloor}});
    met &= bench::printRatioGoal("isolated load p99 <= 1.5x isolation floor p99", pIso.p99 / pFloor.p99, 1.5);

    // (b) no-op reload round trip.
    auto roundTrips = [&](PluginExecutor& e) {
        auto code = e.load(s.read("probe.so"), Millis(10000));
        await(e, e.call(PluginCall::Start, *code, request("probe", &ctx, s.config)));
        std::vector<Ns> samples;
        for (int i = 0; i < kReloads; ++i) {
            Ns t0 = bench::monotonicNs();
            await(e, e.call(PluginCall::Reload, *code, request("probe", &ctx, s.config)));
            samples.push_back(bench::monotonicNs() - t0);
        }
        await(e, e.call(PluginCall::Stop, *code, request("probe", &ctx, s.config)));
        e.unload("probe", std::move(code), Millis(10000));
        return bench::percentiles(samples);
    };
    auto rIn = roundTrips(s.inProcess), rIso = roundTrips(s.isolated);
    bench::printTable("(b) no-op reload of probe.so, call -> completion (" + std::to_string(kReloads) + " each)",
                      {{"in-process", rIn, nullptr}, {"isolated", rIso, &rIn}});

    // (c) cold start of many.
    auto cold = [&](PluginExecutor& e) {
        Ns t0 = bench::monotonicNs();
        std::vector<std::unique_ptr<PluginCode>> codes;
        std::vector<std::uint64_t> calls;
        for (int i = 0; i < kCold; ++i) {
            codes.push_back(e.load(s.read("tiny.so"), Millis(10000)));
            calls.push_back(e.call(PluginCall::Start, *codes.back(), request("tiny", &ctx, s.config)));
        }
        for (auto id : calls) await(e, id);
        Ns took = bench::monotonicNs() - t0;
        double pss = 0;
        if (auto pid = codes.front()->runnerPid()) pss = pssKb(pid);
        for (auto& c : codes) {
            await(e, e.call(PluginCall::Stop, *c, request("tiny", &ctx, s.config)));
            e.unload("tiny", std::move(c), Millis(10000));
        }
        return std::make_pair(took, pss);
    };
    auto [coldIn, unused] = cold(s.inProcess);
    auto [coldIso, pss] = cold(s.isolated);
    std::printf("(c) %d tiny.so loaded and started: in-process %.1f ms, isolated %.1f ms (%.1fx): each isolated plugin\n"
                "    pays a process spawn, the runner's own dynamic linking and a handshake\n\n",
                kCold, static_cast<double>(coldIn) / 1e6, static_cast<double>(coldIso) / 1e6,
                static_cast<double>(coldIso) / static_cast<double>(coldIn));
    (void)unused;

    // (d) memory of an idle runner: one spawned for its own load (a cold start's), and one taken
    // from the spare, as every later load's is (the loop turns between loads, as hostd's does),
    // which loaded the C++ runtime while it waited.
    std::vector<std::unique_ptr<PluginCode>> warm;
    for (int i = 0; i < kCold / 10; ++i) {
        warm.push_back(s.isolated.load(s.read("tiny.so"), Millis(10000)));
        (void)s.isolated.takeCompleted();
    }
    double pssSpare = pssKb(warm.back()->runnerPid());
    for (auto& c : warm) s.isolated.unload("tiny", std::move(c), Millis(10000));
    std::printf("(d) an idle runner holding tiny.so: PSS %.0f KB spawned for its load (one of %d), %.0f KB taken from\n"
                "    the spare (one of %d; the spare has libstdc++ loaded, which a C++ plugin needs anyway)\n",
                pss, kCold, pssSpare, kCold / 10);
    met &= bench::printRatioGoal("idle runner PSS <= 1 MB", std::max(pss, pssSpare) / 1024, 1.0);
    std::printf("\nsummary: %s\n", met ? "met" : "MISSED");
    return 0;
}
