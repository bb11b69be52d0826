#include "StatusBoard.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <pthread.h>
#include <sstream>
#include <unistd.h>

namespace hostd {

namespace {

double threadCpuSeconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

/// Printable ASCII only: thread names are shown in ps, top and JSON.
std::string printable(std::string_view name, std::size_t max) {
    std::string out;
    for (char c : name.substr(0, std::min(name.size(), max)))
        out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return out;
}

void countUnder(std::map<std::string, std::uint64_t, std::less<>>& counts, std::string_view key) {
    auto it = counts.find(key);
    if (it == counts.end()) it = counts.emplace(std::string(key), 0).first;
    it->second++;
}

}  // namespace

std::string_view phaseName(StatusBoard::Phase phase) {
    switch (phase) {
    case StatusBoard::Phase::Starting: return "starting";
    case StatusBoard::Phase::Running: return "running";
    case StatusBoard::Phase::Draining: return "draining";
    case StatusBoard::Phase::Done: return "done";
    }
    return "unknown";
}

std::string_view directoryChangeName(DirectoryWatcher::Change::Kind kind) {
    switch (kind) {
    case DirectoryWatcher::Change::FileReady: return "file_ready";
    case DirectoryWatcher::Change::FileChanged: return "file_changed";
    case DirectoryWatcher::Change::FileGone: return "file_gone";
    case DirectoryWatcher::Change::Rescan: return "rescan";
    case DirectoryWatcher::Change::DirGone: return "dir_gone";
    }
    return "other";
}

std::string loadFailureReason(std::string_view e) {
    // Ordered: the first prefix that matches wins. The messages are PluginImage.cpp's.
    static const std::pair<std::string_view, std::string_view> kReasons[] = {
        {"refused: is a symbolic link", "symlink"},
        {"refused: not a regular file", "not_regular_file"},
        {"refused: owned by", "owner"},
        {"refused: group- or world-writable", "permissions"},
        {"refused: sha256", "sha256_mismatch"},
        {"empty file", "not_elf"},
        {"not an ELF file", "not_elf"},
        {"truncated ELF", "not_elf"},
        {"wrong ELF class", "wrong_architecture"},
        {"wrong architecture", "wrong_architecture"},
        {"not a shared object", "not_elf"},
        {"dlopen failed", "dlopen"},
        {"no symbol", "no_entry_symbol"},
        {"plugin ABI", "abi_version"},
        {"descriptor", "descriptor"},
        {"hostd_plugin_entry returned no descriptor", "descriptor"},
        {"cannot ", "io"},
        {"read failed", "io"},
        {"memfd_create failed", "io"},
        {"copy to memfd failed", "io"},
    };
    for (const auto& [prefix, reason] : kReasons)
        if (e.starts_with(prefix)) return std::string(reason);
    return "other";
}

StatusBoard::StatusBoard() = default;

StatusBoard& StatusBoard::instance() {
    static StatusBoard board;
    return board;
}

void StatusBoard::pluginState(const std::string& plugin, PluginState state, const std::string& reason) {
    std::lock_guard lock(_mutex);
    PluginStatus& p = _s.plugins[plugin];
    p.state = state;
    p.reason = reason;
}

void StatusBoard::forget(const std::string& plugin) {
    std::lock_guard lock(_mutex);
    _s.plugins.erase(plugin);
}

void StatusBoard::runnerStarted(const std::string& plugin, pid_t pid) {
    std::lock_guard lock(_mutex);
    auto& p = _s.plugins[plugin];
    p.runnerPid = pid;
    p.runnerStarts++;
}

void StatusBoard::runnerEnded(const std::string& plugin, pid_t pid, std::string_view how) {
    std::lock_guard lock(_mutex);
    auto it = _s.plugins.find(plugin);
    if (it == _s.plugins.end()) return;
    if (it->second.runnerPid == pid) it->second.runnerPid = 0;
    countUnder(it->second.runnerEnds, how);
}

void StatusBoard::pluginRestarted(const std::string& plugin, std::string_view reason) {
    std::lock_guard lock(_mutex);
    countUnder(_s.plugins[plugin].restarts, reason);
}

void StatusBoard::callCompleted(const std::string& plugin, std::string_view call, Clock::duration duration, bool ok) {
    double seconds = std::chrono::duration<double>(duration).count();
    std::lock_guard lock(_mutex);
    auto& calls = _s.plugins[plugin].calls;
    auto it = calls.find(call);
    if (it == calls.end()) it = calls.emplace(std::string(call), CallStats{}).first;
    CallStats& c = it->second;
    ++c.count;
    c.failures += ok ? 0 : 1;
    c.seconds += seconds;
    c.maxSeconds = std::max(c.maxSeconds, seconds);
    auto bucket = std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds);  // le: upper bound inclusive
    if (bucket != kBuckets.end()) ++c.buckets[static_cast<std::size_t>(bucket - kBuckets.begin())];
}

void StatusBoard::loadFailed(const std::string& error) {
    std::string reason = loadFailureReason(error);
    std::lock_guard lock(_mutex);
    ++_s.loadFailures[reason];
}

void StatusBoard::dirEvent(std::string_view kind) {
    std::lock_guard lock(_mutex);
    ++_s.dirEvents[std::string(kind)];
}

void StatusBoard::configApplied(ConfigPtr config) {
    std::lock_guard lock(_mutex);
    if (_s.config) ++_s.reloadsOk;  // the first one is the start, not a reload
    _s.config = std::move(config);
}

void StatusBoard::loaderHeld() {
    std::lock_guard lock(_mutex);
    _s.loaderHeld = true;
}

void StatusBoard::configReloadFailed() {
    std::lock_guard lock(_mutex);
    ++_s.reloadsFailed;
}

void StatusBoard::phase(Phase phase) {
    std::lock_guard lock(_mutex);
    if (phase == Phase::Draining && _s.phase != Phase::Draining) _drainStarted = Clock::now();
    if (phase == Phase::Done && _s.phase == Phase::Draining)
        _s.drainSeconds = std::chrono::duration<double>(Clock::now() - _drainStarted).count();
    _s.phase = phase;
}

void StatusBoard::connectionRejected() {
    std::lock_guard lock(_mutex);
    ++_s.rejectedConnections;
}

StatusBoard::CallAttribution::CallAttribution(StatusBoard& board, const std::string& plugin, std::string_view call)
    : _board(board), _plugin(plugin), _tid(::gettid()) {
    _board.addCallThread(_tid, plugin, call);
    _cpuBefore = threadCpuSeconds();
}

StatusBoard::CallAttribution::~CallAttribution() { _board.endCallThread(_tid, _plugin, threadCpuSeconds() - _cpuBefore); }

void StatusBoard::addCallThread(pid_t tid, const std::string& plugin, std::string_view call) {
    std::lock_guard lock(_mutex);
    _s.threads[tid] = ThreadOwner{plugin, "", 0, std::string(call)};
}

void StatusBoard::endCallThread(pid_t tid, const std::string& plugin, double cpuSeconds) {
    std::lock_guard lock(_mutex);
    _s.threads.erase(tid);
    // A removed plugin's late (abandoned) call must not bring its record back.
    if (auto it = _s.plugins.find(plugin); it != _s.plugins.end()) it->second.callbackCpuSeconds += cpuSeconds;
}

void StatusBoard::tagThread(const std::string& plugin, std::string_view name) {
    std::string comm = printable(name, 15);
    if (!comm.empty()) ::pthread_setname_np(::pthread_self(), comm.c_str());
    pid_t tid = ::gettid();
    unsigned long long ticks = threadStartTicks(tid);
    std::lock_guard lock(_mutex);
    _s.threads[tid] = ThreadOwner{plugin, printable(name, 64), ticks, ""};
}

unsigned long long StatusBoard::threadStartTicks(pid_t tid) {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto paren = text.rfind(')');
    if (paren == std::string::npos) return 0;
    std::istringstream fields(text.substr(paren + 2));
    std::string field;
    // After "(comm) " come fields 3..; starttime is field 22.
    for (int i = 3; i <= 22 && fields >> field; ++i)
        if (i == 22) return std::strtoull(field.c_str(), nullptr, 10);
    return 0;
}

StatusBoard::Snapshot StatusBoard::snapshot() const {
    std::lock_guard lock(_mutex);
    if (_s.phase == Phase::Draining)
        _s.drainSeconds = std::chrono::duration<double>(Clock::now() - _drainStarted).count();
    // A tagged thread that ended leaves its tag behind; its tid may be reused by a thread that
    // is not the plugin's, which its start time tells apart.
    std::erase_if(_s.threads, [](const auto& entry) {
        return entry.second.inCall.empty() && threadStartTicks(entry.first) != entry.second.startTicks;
    });
    return _s;
}

}  // namespace hostd
