#pragma once

#include "ProcessStats.h"
#include "StatusBoard.h"

#include <string>
#include <vector>

namespace hostd {

std::string renderMetrics(const StatusBoard::Snapshot& s, const ProcessStats& process);
    /// /metrics: the Prometheus text format (PrometheusText.h).

/// /healthz: healthy when every plugin that is not disabled runs.
struct Health {
    bool ok = true;
    std::string json;  ///< {"status":"ok"|"failing","not_running":[{"plugin","state","reason"}...]}
};
Health checkHealth(const StatusBoard::Snapshot& s);

/// /readyz: ready once the start-up plugins have started, until the drain begins.
Health checkReady(const StatusBoard::Snapshot& s);

/// One plugin's use of the process: the per-plugin CPU view (/debug/plugins, hostctl top).
struct PluginUsage {
    std::string plugin;
    std::string state;
    std::string reason;
    double callbackCpuSeconds = 0;  ///< In its start/reload/stop callbacks.
    double threadCpuSeconds = 0;    ///< In its tagged threads that are alive now.
    int threads = 0;                ///< Its tagged threads alive now.
    std::map<std::string, StatusBoard::CallStats, std::less<>> calls;
    std::vector<ImageMapping> images;
    pid_t runnerPid = 0;      ///< isolation = process: its runner, while one lives.
    ChildStats runner;        ///< Read when runnerPid is set.
    std::uint64_t runnerStarts = 0;
    std::map<std::string, std::uint64_t, std::less<>> runnerEnds;
    std::map<std::string, std::uint64_t, std::less<>> restarts;  ///< By reason.
};

std::vector<PluginUsage> pluginUsage(const StatusBoard::Snapshot& s);
    /// Reads /proc/self (threads, maps); callable from any thread.

std::vector<PluginUsage> pluginUsage();
    /// The same for StatusBoard::instance(): what a control command (hostctl top) calls.

std::string pluginUsageJson(const std::vector<PluginUsage>& usage);
    /// /debug/plugins: {"plugins":[{name, state, reason, cpu_seconds:{callbacks, threads},
    /// threads, restarts:{REASON: n}, calls:{start:{count, failures, seconds_total, max_seconds},
    /// ...}, image:{...}, runner:{pid, resident_bytes, cpu_seconds, starts} or null}]}

std::string threadOwner(const StatusBoard::Snapshot& s, const ThreadInfo& t);
    /// The plugin owning thread t (tagged by it, or running its callback), "host" or
    /// "unattributed".

std::string threadsJson(const StatusBoard::Snapshot& s);
    /// /debug/threads: {"threads":[{tid, name, owner, plugin, tag, in_call, state, cpu_seconds}]};
    /// owner is a plugin name, "host" or "unattributed".

std::string memoryJson();
    /// /debug/memory: RSS, mallinfo2 heap statistics, mapped plugin images.

}  // namespace hostd
