// Control-plane flood benchmark (issue: security of a root-run hostd): what a hostile local
// user allowed to use hostctl (a control_group member; here uid 65534) costs everybody else.
//   install   rename the probe plugin as the README builds it (with debug info) into the plugin
//             dir -> its start begins (the stamp the plugin writes), then removed again
//   status    the real hostctl binary, as root: spawn -> exit with hostd's status printed
// Each measured idle, then while the attacker runs 64 connections that flood the control socket
// with `top` (those refused reconnect every millisecond) and holds 40 idle connections to the
// metrics port without the token (reconnecting those hostd closes). The idle run is the floor.
// Two more rows say what the attacker's CPU use costs the machine whatever hostd does: installs
// into bench/hotload_floor --required and `hostctl --help`, under the same flood.
// Goal: p99 under the flood <= 2x the idle p99, for both.
// FLOOD_CONNECTIONS, FLOOD_CMD (status, list, ...), FLOOD_METRICS and FLOOD_METRICS_POLL_MS
// change the attacker, to see what each part of it costs.
#include "BenchUtil.h"
#include "Sockets.h"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <spawn.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <utility>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using bench::Ns;

extern char** environ;

namespace {

constexpr int kInstalls = 100;
constexpr int kStatusCalls = 100;
constexpr int kFloodConnections = 64;
constexpr int kIdleMetricsConnections = 40;
constexpr uid_t kAttacker = 65534;
constexpr double kGoal = 2.0;

int connectUnix(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    ::close(fd);
    return -1;
}

/// One flooding connection: 20 `top` requests at a time, replies read, as long as hostd keeps
/// it; a refused or closed one connects again a millisecond later.
void floodControl(const std::string& socket) {
    const char* cmd = std::getenv("FLOOD_CMD");  // another command's cost, when exploring
    std::string burst;
    for (int i = 0; i < 20; ++i) burst += std::string("{\"v\":1,\"cmd\":\"") + (cmd ? cmd : "top") + "\"}\n";
    timeval timeout{5, 0};
    for (;;) {
        int fd = connectUnix(socket);
        if (fd >= 0) {
            ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
            char buf[65536];
            for (;;) {
                if (::send(fd, burst.data(), burst.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(burst.size())) break;
                int lines = 0;
                ssize_t n = 1;
                while (lines < 20 && (n = ::recv(fd, buf, sizeof buf, 0)) > 0)
                    for (ssize_t i = 0; i < n; ++i) lines += buf[i] == '\n';
                if (n <= 0) break;
            }
            ::close(fd);
        }
        std::this_thread::sleep_for(1ms);
    }
}

/// Keeps `count` connections to the metrics port open without sending anything.
void holdMetrics(int port, int count) {
    std::vector<int> fds(static_cast<std::size_t>(count), -1);
    for (;;) {
        for (int& fd : fds) {
            char c;
            if (fd >= 0 && ::recv(fd, &c, 1, MSG_DONTWAIT) != 0) continue;  // still open (EAGAIN)
            if (fd >= 0) ::close(fd);
            fd = hostd::test::connectLoopback(port);
        }
        const char* poll = std::getenv("FLOOD_METRICS_POLL_MS");
        std::this_thread::sleep_for(std::chrono::milliseconds(poll ? std::atoi(poll) : 100));
    }
}

/// The attacker, forked before this process has any thread: as uid 65534 (when run as root), it
/// waits for the metrics port on goFd, then floods until killed.
[[noreturn]] void attacker(int goFd, const std::string& socket) {
    if (::geteuid() == 0) {
        gid_t group = kAttacker;
        if (::setgroups(1, &group) != 0 || ::setgid(kAttacker) != 0 || ::setuid(kAttacker) != 0) ::_exit(1);
    }
    char buf[32] = {};
    if (::read(goFd, buf, sizeof buf - 1) <= 0) ::_exit(0);
    int port = std::atoi(buf);
    std::vector<std::thread> threads;
    const char* connections = std::getenv("FLOOD_CONNECTIONS");
    const char* metrics = std::getenv("FLOOD_METRICS");
    for (int i = 0; i < (connections ? std::atoi(connections) : kFloodConnections); ++i)
        threads.emplace_back([&] { floodControl(socket); });
    threads.emplace_back([&] { holdMetrics(port, metrics ? std::atoi(metrics) : kIdleMetricsConnections); });
    for (auto& t : threads) t.join();
    ::_exit(0);
}

std::string writeConfig(const std::string& dir, const std::string& pluginDir, const std::vector<std::string>& plugins) {
    fs::create_directories(dir + "/etc");
    std::string token = dir + "/etc/metrics.token";
    std::ofstream(token) << "bench-token\n";
    fs::permissions(token, fs::perms(0600));
    std::string path = dir + "/etc/hostd.conf";
    std::ofstream conf(path);
    conf << "[hostd]\nplugin_dir = " << pluginDir << "\ncontrol_socket = " << dir
         << "/control.sock\ncontrol_group = " << kAttacker << "\nmetrics_listen = 127.0.0.1:0\nmetrics_token_file = " << token
         << "\n";
    for (const auto& n : plugins) conf << "[plugin." << n << "]\nevents = " << dir << "/hostd/events\n";
    return path;
}

/// A host that plugins are installed into: hostd, or the floor (bench/hotload_floor --required:
/// inotify, the private copy hashed, dlopen, start on a worker thread, and nothing else) run
/// under the same flood, which says what the attacker's CPU use alone costs an install.
struct Host {
    std::string root;  // staging/, plugins/, events
    bench::EventLog events;
    std::vector<Ns> samples;
    explicit Host(const std::string& dir) : root(dir), events(dir + "/events") {
        fs::create_directories(root + "/plugins");
        fs::create_directories(root + "/staging");
    }
    void stage(const std::string& name) const {
        fs::copy_file(std::string(HOSTD_FIXTURE_DIR) + "/probe.so", root + "/staging/" + name + ".so");
        fs::permissions(root + "/staging/" + name + ".so", fs::perms(0644));
    }
    /// Renames NAME.so from staging into plugins (same file system) -> its start stamp; then
    /// removes it and waits for its stop.
    void install(const std::string& name) {
        std::string staged = root + "/staging/" + name + ".so", installed = root + "/plugins/" + name + ".so";
        Ns t0 = bench::monotonicNs();
        fs::rename(staged, installed);
        if (auto started = events.waitStart(name, 15s))
            samples.push_back(*started - t0);
        else
            std::fprintf(stderr, "%s never started in %s\n", name.c_str(), root.c_str());
        fs::remove(installed);
        events.waitStop(name, 15s);
        std::this_thread::sleep_for(5ms);
    }
};

/// Installs into each host in turn, so that any drift of the machine hits both; returns each
/// host's latencies.
std::vector<std::vector<Ns>> installs(std::vector<Host*> hosts, const std::string& prefix) {
    for (int i = 0; i < kInstalls; ++i)
        for (Host* h : hosts) h->install(prefix + std::to_string(i));
    std::vector<std::vector<Ns>> out;
    for (Host* h : hosts) out.push_back(std::exchange(h->samples, {}));
    return out;
}

/// Latencies of the real hostctl binary, spawned and reaped: `status` asks hostd; `--help`
/// (the same binary, loaded the same way, never connecting) is what the machine itself costs.
std::vector<Ns> hostctlCalls(const std::string& socket, const char* command) {
    std::vector<Ns> samples;
    std::string socketArg = "--socket=" + socket;
    char* argv[] = {const_cast<char*>(HOSTCTL_BINARY), socketArg.data(), const_cast<char*>(command), nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    for (int i = 0; i < kStatusCalls; ++i) {
        Ns t0 = bench::monotonicNs();
        pid_t pid = -1;
        int status = 0;
        if (::posix_spawn(&pid, argv[0], &actions, nullptr, argv, environ) != 0 || ::waitpid(pid, &status, 0) != pid ||
            !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            std::fprintf(stderr, "hostctl %s failed (status %d)\n", command, status);
            continue;
        }
        samples.push_back(bench::monotonicNs() - t0);
    }
    posix_spawn_file_actions_destroy(&actions);
    return samples;
}

int metricsPort(const std::string& log) {
    std::string text = bench::readFile(log);
    auto at = text.find("metrics listening address=127.0.0.1:");
    return at == std::string::npos ? 0 : std::atoi(text.c_str() + at + std::string("metrics listening address=127.0.0.1:").size());
}

}  // namespace

int main() {
    bench::TempDir tmp("hostd-flood-bench");
    const std::string dir = tmp.path();
    int go[2];
    if (::pipe2(go, O_CLOEXEC) != 0) return 1;
    pid_t flood = ::fork();  // before any thread of this process
    if (flood == 0) {
        ::close(go[1]);
        attacker(go[0], dir + "/control.sock");
    }
    ::close(go[0]);

    std::vector<std::string> plugins;
    for (const char* phase : {"idle", "flood"})
        for (int i = 0; i < kInstalls; ++i) plugins.push_back(std::string(phase) + std::to_string(i));
    Host hostdSide(dir + "/hostd"), floorSide(dir + "/floor");
    for (const auto& name : plugins) {
        hostdSide.stage(name);
        floorSide.stage(name);
    }
    std::string config = writeConfig(dir, hostdSide.root + "/plugins", plugins);
    std::string log = dir + "/hostd.log", floorLog = dir + "/floor.log";
    bench::Child hostd({HOSTD_BINARY, "--config=" + config}, log);
    bench::Child floor({HOTLOAD_FLOOR, "--required", "watch", floorSide.root + "/plugins", floorSide.root + "/events"}, floorLog);
    if (!bench::waitForText(floorLog, "floor: ready", 30s)) {
        std::fprintf(stderr, "the floor did not become ready:\n%s\n", bench::readFile(floorLog).c_str());
        return 1;
    }
    if (!bench::waitForText(log, "hostd: ready", 30s) || metricsPort(log) == 0) {
        std::string text = bench::readFile(log);
        std::fprintf(stderr, "hostd did not become ready (or said no metrics port); its log ends:\n%s\n",
                     text.substr(text.size() > 4000 ? text.size() - 4000 : 0).c_str());
        return 1;
    }
    auto idleInstalls = installs({&hostdSide, &floorSide}, "idle");
    std::vector<Ns> idleStatus = hostctlCalls(dir + "/control.sock", "status");
    std::vector<Ns> idleHelp = hostctlCalls(dir + "/control.sock", "--help");

    std::string port = std::to_string(metricsPort(log)) + "\n";
    if (::write(go[1], port.data(), port.size()) != static_cast<ssize_t>(port.size())) return 1;
    bool flooding = bench::waitForText(log, "control connection refused: too many clients of uid", 15s);
    std::this_thread::sleep_for(1s);  // every connection at work
    auto floodInstalls = installs({&hostdSide, &floorSide}, "flood");
    std::vector<Ns> floodStatus = hostctlCalls(dir + "/control.sock", "status");
    std::vector<Ns> floodHelp = hostctlCalls(dir + "/control.sock", "--help");
    ::kill(flood, SIGKILL);
    ::waitpid(flood, nullptr, 0);
    hostd.stop(SIGTERM, 30s);
    floor.stop(SIGTERM, 5s);

    auto pi = bench::percentiles(idleInstalls[0]), pf = bench::percentiles(floodInstalls[0]);
    auto fi = bench::percentiles(idleInstalls[1]), ff = bench::percentiles(floodInstalls[1]);
    auto si = bench::percentiles(idleStatus), sf = bench::percentiles(floodStatus);
    auto hi = bench::percentiles(idleHelp), hf = bench::percentiles(floodHelp);
    bench::printTable("Control-plane flood: " + std::to_string(kFloodConnections) + " control connections flooding `top`, " +
                          std::to_string(kIdleMetricsConnections) + " idle metrics connections (floor: the same, idle)",
                      {{"plugin install, idle (floor)", pi, nullptr},
                       {"plugin install, under the flood", pf, &pi},
                       {"install into hotload_floor --required, idle", fi, nullptr},
                       {"install into hotload_floor --required, flood", ff, &fi},
                       {"hostctl status, idle (floor)", si, nullptr},
                       {"hostctl status, under the flood", sf, &si},
                       {"hostctl --help (no hostd), idle (floor)", hi, nullptr},
                       {"hostctl --help (no hostd), under the flood", hf, &hi}});
    // Evidence that the flood reached hostd: what it says it refused (one line a second, then counts).
    std::string text = bench::readFile(log);
    long refused = 0;
    for (std::size_t at = 0; (at = text.find("control connection", at)) != std::string::npos; ++at) {
        if (text.compare(at, 29, "control connection refused: ") == 0) ++refused;
        if (text.compare(at, 43, "control connections refused meanwhile (not ") == 0) {
            auto count = text.find("count=", at);
            if (count != std::string::npos) refused += std::atol(text.c_str() + count + 6);
        }
    }
    std::printf("\nhostd refused %ld control connections of the attacker (per-uid limit, 1 s before each answer)\n", refused);
    bool ok = flooding;
    if (!flooding) std::printf("the flood never reached hostd (no refusal logged): figures are not comparable\n");
    ok &= pf.count == static_cast<std::size_t>(kInstalls) && sf.count == static_cast<std::size_t>(kStatusCalls);
    ok &= bench::printRatioGoal("plugin install p99 under the flood <= 2x idle", pf.p99 / pi.p99, kGoal);
    ok &= bench::printRatioGoal("hostctl status p99 under the flood <= 2x idle", sf.p99 / si.p99, kGoal);
    return ok ? 0 : 1;
}
