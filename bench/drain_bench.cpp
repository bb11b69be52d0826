// Drain benchmark: 10 independent probe plugins whose stop takes 200 ms each.
// Measures SIGTERM -> exit of the real hostd against, in the same run:
//   floor      10 threads sleeping 200 ms concurrently, joined (the ideal concurrent drain)
//   critical   200 ms (the longest single stop)
//   sequential 2000 ms (what a one-at-a-time drain would take)
// Goal: hostd within 50 ms of the critical path.
#include "Process.h"
#include "TempDir.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using hostd::test::HostdProcess;

namespace {

constexpr int kPlugins = 10;
constexpr int kStopMs = 200;
constexpr int kRuns = 7;

double ms(std::chrono::steady_clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double floorRun() {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int i = 0; i < kPlugins; ++i) threads.emplace_back([] { std::this_thread::sleep_for(std::chrono::milliseconds(kStopMs)); });
    for (auto& t : threads) t.join();
    return ms(std::chrono::steady_clock::now() - t0);
}

double hostdRun(const std::string& dir) {
    std::string logPath = dir + "/hostd.log";
    fs::remove(logPath);
    HostdProcess hostd({"--config=" + dir + "/hostd.conf"}, logPath);
    const std::string ready = "hostd: ready running=" + std::to_string(kPlugins);
    if (!hostd::test::waitUntil([&] { return hostd::test::readFile(logPath).find(ready) != std::string::npos; }, 30s)) {
        std::fprintf(stderr, "hostd did not become ready:\n%s\n", hostd::test::readFile(logPath).c_str());
        std::exit(1);
    }
    auto t0 = std::chrono::steady_clock::now();
    hostd.signal(SIGTERM);
    auto code = hostd.waitExit(30s);
    double took = ms(std::chrono::steady_clock::now() - t0);
    if (code != 0) {
        std::fprintf(stderr, "hostd exited %d\n", code.value_or(-1));
        std::exit(1);
    }
    return took;
}

}  // namespace

int main() {
    hostd::test::TempDir tmp("hostd-bench");
    const std::string& dir = tmp.path();
    fs::create_directory(dir + "/plugins");
    std::ofstream conf(dir + "/hostd.conf");
    conf << "[hostd]\nplugin_dir = " << dir << "/plugins\nlog_level = notice\ncontrol_socket = " << dir << "/control.sock\n";
    for (int i = 0; i < kPlugins; ++i) {
        std::string name = "p" + std::to_string(i);
        fs::copy_file(std::string(HOSTD_FIXTURE_DIR) + "/probe.so", dir + "/plugins/" + name + ".so");
        fs::permissions(dir + "/plugins/" + name + ".so", fs::perms(0644));
        conf << "[plugin." << name << "]\nstop_delay_ms = " << kStopMs << "\n";
    }
    conf.close();

    std::vector<double> floors, hostds;
    for (int r = 0; r < kRuns; ++r) {
        floors.push_back(floorRun());
        hostds.push_back(hostdRun(dir));
    }
    double f = median(floors), h = median(hostds);
    double critical = kStopMs, sequential = kStopMs * kPlugins;
    std::printf("drain of %d independent plugins x %d ms stop, median of %d runs\n", kPlugins, kStopMs, kRuns);
    std::printf("| %-34s | %9s | %8s |\n", "measure", "ms", "x floor");
    std::printf("|%s|%s|%s|\n", std::string(36, '-').c_str(), std::string(11, '-').c_str(), std::string(10, '-').c_str());
    std::printf("| %-34s | %9.1f | %8.3f |\n", "floor: 10 concurrent sleeps", f, 1.0);
    std::printf("| %-34s | %9.1f | %8.3f |\n", "critical path (longest stop)", critical, critical / f);
    std::printf("| %-34s | %9.1f | %8.3f |\n", "hostd: SIGTERM -> exit", h, h / f);
    std::printf("| %-34s | %9.1f | %8.3f |\n", "sequential sum", sequential, sequential / f);
    bool ok = h - critical <= 50.0;
    std::printf("goal: hostd within 50 ms of the critical path: %s (%+.1f ms)\n", ok ? "met" : "MISSED", h - critical);
    fs::remove_all(dir);
    return 0;
}
