#include "BenchUtil.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <spawn.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace bench {

namespace {

std::string formatMs(double ns) {
    char buf[32];
    std::snprintf(buf, sizeof buf, ns < 1e7 ? "%.3f ms" : "%.1f ms", ns / 1e6);
    return buf;
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); }

}  // namespace

Ns monotonicNs() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<Ns>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

Percentiles percentiles(std::vector<Ns> samples) {
    Percentiles p;
    p.count = samples.size();
    if (samples.empty()) return p;
    std::sort(samples.begin(), samples.end());
    auto rank = [&](double q) {
        auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
        return static_cast<double>(samples[std::clamp<std::size_t>(k, 1, samples.size()) - 1]);
    };
    p.p50 = rank(0.50);
    p.p99 = rank(0.99);
    return p;
}

void printTable(const std::string& title, const std::vector<Row>& rows) {
    std::printf("\n%s\n\n", title.c_str());
    std::printf("| %-46s | %10s | %10s | %-18s |\n", "measure", "p50", "p99", "x floor");
    std::printf("|%s|%s|%s|%s|\n", std::string(48, '-').c_str(), std::string(12, '-').c_str(),
                std::string(12, '-').c_str(), std::string(20, '-').c_str());
    for (const auto& r : rows) {
        char ratio[48] = "1.00";
        if (r.floor != nullptr && r.floor->p99 > 0 && r.floor->p50 > 0)
            std::snprintf(ratio, sizeof ratio, "%.2f (p50 %.2f)", r.value.p99 / r.floor->p99, r.value.p50 / r.floor->p50);
        std::printf("| %-46s | %10s | %10s | %-18s |\n", r.measure.c_str(), formatMs(r.value.p50).c_str(),
                    formatMs(r.value.p99).c_str(), ratio);
    }
}

bool printGoal(const std::string& goal, bool met, const std::string& detail) {
    std::printf("goal: %s: %s (%s)\n", goal.c_str(), met ? "met" : "MISSED", detail.c_str());
    return met;
}

bool printRatioGoal(const std::string& goal, double ratio, double limit) {
    char detail[32];
    std::snprintf(detail, sizeof detail, "%.2fx", ratio);
    return printGoal(goal, std::isfinite(ratio) && ratio <= limit, detail);
}

Child::Child(const std::vector<std::string>& argv, const std::string& logPath) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    // hostd blocks its signals itself; a child must not inherit whatever the shell left blocked.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    int err = ::posix_spawn(&_pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (err != 0) {
        errno = err;
        fail("posix_spawn " + argv[0]);
    }
}

Child::~Child() {
    if (_reaped) return;
    ::kill(_pid, SIGKILL);
    int status = 0;
    ::waitpid(_pid, &status, 0);
}

bool Child::stop(int sig, std::chrono::milliseconds timeout) {
    if (_reaped) return true;
    ::kill(_pid, sig);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (int status = 0; std::chrono::steady_clock::now() < deadline;) {
        if (::waitpid(_pid, &status, WNOHANG) == _pid) return _reaped = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
}

void EventLog::poll() {
    int fd = ::open(_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;  // no plugin has started yet
    char buf[65536];
    for (ssize_t n; (n = ::pread(fd, buf, sizeof buf, _offset)) > 0;) {
        _offset += n;
        _partial.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    std::size_t begin = 0;
    for (std::size_t nl; (nl = _partial.find('\n', begin)) != std::string::npos; begin = nl + 1) {
        char what[16], name[256];
        long long ns = 0;
        std::string line = _partial.substr(begin, nl - begin);
        if (std::sscanf(line.c_str(), "%15s %255s %lld", what, name, &ns) != 3) continue;
        if (std::strcmp(what, "start") == 0) _starts.emplace(name, ns);  // the first one counts
        if (std::strcmp(what, "stop") == 0) _stops.emplace(name, ns);
    }
    _partial.erase(0, begin);
}

std::optional<Ns> EventLog::waitStart(const std::string& name, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        poll();
        if (auto it = _starts.find(name); it != _starts.end()) return it->second;
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        // The plugin stamps its own time, so the poll interval does not enter the latency;
        // sleeping (not spinning) keeps the bench off the two cores being measured.
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

bool EventLog::waitStop(const std::string& name, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (poll(); !_stops.count(name); poll()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

Ns EventLog::lastStart() const {
    Ns last = 0;
    for (const auto& [_, ns] : _starts) last = std::max(last, ns);
    return last;
}

std::string readFile(const std::string& path) {
    std::string out;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return out;
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return out;
}

void writeFile(const std::string& path, const std::string& data) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("open " + path);
    // 128 KiB writes, like coreutils cp; the one close at the end is the IN_CLOSE_WRITE.
    constexpr std::size_t kChunk = 128 * 1024;
    for (std::size_t off = 0; off < data.size();) {
        ssize_t n = ::write(fd, data.data() + off, std::min(kChunk, data.size() - off));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ::close(fd);
            fail("write " + path);
        }
        off += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) fail("close " + path);
}

bool waitForText(const std::string& path, const std::string& text, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (readFile(path).find(text) == std::string::npos) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

Ns spawnAndRoundTrip() {
    Ns t0 = monotonicNs();
    pid_t pid = 0;
    char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
    char* envp[] = {nullptr};
    if (::posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, envp) == 0) ::waitpid(pid, nullptr, 0);
    Ns spawned = monotonicNs() - t0;
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return spawned;
    std::thread echo([&] {
        char c;
        if (::recv(sv[1], &c, 1, 0) == 1) (void)::send(sv[1], &c, 1, 0);
    });
    Ns t1 = monotonicNs();
    char c = 'x';
    (void)::send(sv[0], &c, 1, 0);
    (void)::recv(sv[0], &c, 1, 0);
    Ns roundTrip = monotonicNs() - t1;
    echo.join();
    ::close(sv[0]);
    ::close(sv[1]);
    return spawned + roundTrip;
}

}  // namespace bench
