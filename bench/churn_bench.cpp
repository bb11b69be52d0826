// Install and remove one plugin 10,000 times ($CHURN_CYCLES) in the real hostd, in hostd's
// process and isolated (isolation = process), and compare what hostd holds after the last
// cycle with what it held after the first 1,000 (allocators and caches have settled by then):
// resident memory, open descriptors, memory mappings, child processes. Goal: no growth of
// descriptors, mappings or children; resident memory within 5 %.
// Each cycle: a copy of probe.so as built is renamed into the plugin directory, hostd starts it
// (its start event is awaited), the file is removed, hostd stops it (its stop event is awaited).
#include "BenchUtil.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <thread>

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

/// What a process holds.
struct Holdings {
    double residentKb = 0;
    std::size_t fds = 0, mappings = 0, children = 0;
};

Holdings holdings(pid_t pid) {
    Holdings h;
    std::string dir = "/proc/" + std::to_string(pid);
    std::ifstream statm(dir + "/statm");
    long pages = 0, resident = 0;
    statm >> pages >> resident;
    h.residentKb = static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / 1024;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir + "/fd")) ++h.fds;
    std::ifstream maps(dir + "/maps");
    for (std::string line; std::getline(maps, line);) ++h.mappings;
    std::ifstream children(dir + "/task/" + std::to_string(pid) + "/children");
    for (pid_t c = 0; children >> c;) ++h.children;
    return h;
}

/// Counts "start " and "stop " lines appended to the probe's events file, incrementally.
class Counter {
public:
    explicit Counter(std::string path) : _path(std::move(path)) {}
    bool waitFor(std::string_view kind, int count, std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while ((kind == "start" ? _starts : _stops) < count) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            poll();
            std::this_thread::sleep_for(50us);
        }
        return true;
    }

private:
    void poll() {
        std::ifstream in(_path);
        in.seekg(_offset);
        for (std::string line; std::getline(in, line);) {
            if (in.eof()) break;  // a line not ended yet: read again next time
            _offset += static_cast<std::streamoff>(line.size() + 1);
            if (line.rfind("start ", 0) == 0) ++_starts;
            if (line.rfind("stop ", 0) == 0) ++_stops;
        }
    }
    std::string _path;
    std::streamoff _offset = 0;
    int _starts = 0, _stops = 0;
};

bool churn(const std::string& isolation, int cycles) {
    bench::TempDir tmp("hostd-churn");
    std::string plugins = tmp.path() + "/plugins", events = tmp.path() + "/events", stage = tmp.path() + "/stage.so";
    fs::create_directories(plugins);
    fs::create_directories(tmp.path() + "/state");
    std::ofstream(tmp.path() + "/hostd.conf") << "[hostd]\nplugin_dir = " << plugins << "\nstate_dir = " << tmp.path()
                                              << "/state\ncontrol_socket =\nlog_level = warning\nisolation = " << isolation
                                              << "\n[plugin.churn]\nevents = " << events << "\n";
    bench::Child hostd({HOSTD_BINARY, "--config=" + tmp.path() + "/hostd.conf"}, tmp.path() + "/hostd.log");
    Counter counter(events);
    Holdings settled{};
    for (int i = 1; i <= cycles; ++i) {
        fs::copy_file(std::string(HOSTD_FIXTURE_DIR) + "/probe.so", stage, fs::copy_options::overwrite_existing);
        fs::rename(stage, plugins + "/churn.so");
        if (!counter.waitFor("start", i, 10s)) {
            std::string text = bench::readFile(tmp.path() + "/hostd.log");
            std::fprintf(stderr, "cycle %d: no start; hostd's log ends:\n%s\n", i,
                         text.substr(text.size() > 3000 ? text.size() - 3000 : 0).c_str());
            return false;
        }
        fs::remove(plugins + "/churn.so");
        if (!counter.waitFor("stop", i, 10s)) {
            std::fprintf(stderr, "cycle %d: no stop\n", i);
            return false;
        }
        if (i == std::min(1000, cycles)) {
            std::this_thread::sleep_for(20ms);  // the unload follows the stop
            settled = holdings(hostd.pid());
        }
    }
    std::this_thread::sleep_for(20ms);
    Holdings last = holdings(hostd.pid());
    std::printf("\n%s, %d cycles: after cycle %d -> after the last\n", isolation.c_str(), cycles, std::min(1000, cycles));
    std::printf("| resident KB | %.0f -> %.0f |\n| descriptors | %zu -> %zu |\n| mappings | %zu -> %zu |\n| children | %zu -> %zu |\n",
                settled.residentKb, last.residentKb, settled.fds, last.fds, settled.mappings, last.mappings,
                settled.children, last.children);
    hostd.stop(SIGTERM, 10s);
    bool met = last.fds <= settled.fds && last.mappings <= settled.mappings && last.children <= settled.children;
    met = bench::printGoal("no growth of descriptors, mappings or children (" + isolation + ")", met, "") && met;
    return bench::printRatioGoal("resident memory <= 1.05x (" + isolation + ")", last.residentKb / settled.residentKb, 1.05) && met;
}

}  // namespace

int main() {
    ::umask(022);
    int cycles = std::getenv("CHURN_CYCLES") != nullptr ? std::atoi(std::getenv("CHURN_CYCLES")) : 10000;
    bool inProcess = churn("in-process", cycles);
    bool isolated = churn("process", cycles);
    std::printf("\nsummary: in-process %s, isolated %s\n", inProcess ? "met" : "MISSED", isolated ? "met" : "MISSED");
    return 0;
}
