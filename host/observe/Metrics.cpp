// /metrics: the status board and /proc/self in the Prometheus text format.
#include "Metrics.h"

#include "Log.h"
#include "LogOutput.h"

#include "PrometheusText.h"

#include <hostd/plugin.h>

#ifndef HOSTD_VERSION
#define HOSTD_VERSION "0.0.0"
#endif

namespace hostd {

namespace {

constexpr PluginState kAllStates[] = {
    PluginState::Loaded,  PluginState::Pending, PluginState::Blocked, PluginState::Starting, PluginState::Running,
    PluginState::Reloading, PluginState::Stopping, PluginState::Stopped, PluginState::Failed, PluginState::Stuck,
    PluginState::Invalid, PluginState::Disabled, PluginState::Quarantined};

void pluginMetrics(PrometheusText& out, const StatusBoard::Snapshot& s) {
    std::map<PluginState, int> byState;
    for (const auto& [_, p] : s.plugins) byState[p.state]++;
    out.family("hostd_plugins", "gauge", "Plugins known to hostd, by state.");
    for (PluginState st : kAllStates) out.sample("hostd_plugins", {{"state", std::string(stateName(st))}}, byState[st]);

    out.family("hostd_plugin_call_duration_seconds", "histogram",
               "Wall-clock duration of plugin callbacks (start, reload, stop), by plugin and call.");
    std::vector<double> bounds(StatusBoard::kBuckets.begin(), StatusBoard::kBuckets.end());
    for (const auto& [name, p] : s.plugins)
        for (const auto& [call, c] : p.calls) {
            std::vector<unsigned long long> counts(c.buckets.begin(), c.buckets.end());
            unsigned long long inBuckets = 0;
            for (auto n : counts) inBuckets += n;
            counts.push_back(c.count - inBuckets);  // slower than the last bound
            out.histogram("hostd_plugin_call_duration_seconds", {{"plugin", name}, {"call", call}}, bounds, counts,
                          c.seconds);
        }

    out.family("hostd_plugin_call_failures_total", "counter", "Plugin callbacks that returned an error.");
    for (const auto& [name, p] : s.plugins)
        for (const auto& [call, c] : p.calls)
            out.sample("hostd_plugin_call_failures_total", {{"plugin", name}, {"call", call}}, static_cast<double>(c.failures));

    out.family("hostd_plugin_callback_cpu_seconds_total", "counter",
               "CPU time spent in each plugin's callbacks (start, reload, stop).");
    for (const auto& [name, p] : s.plugins)
        out.sample("hostd_plugin_callback_cpu_seconds_total", {{"plugin", name}}, p.callbackCpuSeconds);
}

void hostMetrics(PrometheusText& out, const StatusBoard::Snapshot& s) {
    out.family("hostd_plugin_load_failures_total", "counter", "Plugin files refused at load, by reason.");
    for (const auto& [reason, n] : s.loadFailures)
        out.sample("hostd_plugin_load_failures_total", {{"reason", reason}}, static_cast<double>(n));

    out.family("hostd_plugin_dir_events_total", "counter", "Changes seen in the plugin directory, by kind.");
    for (const auto& [kind, n] : s.dirEvents)
        out.sample("hostd_plugin_dir_events_total", {{"kind", kind}}, static_cast<double>(n));

    out.family("hostd_plugin_runner_starts_total", "counter", "Runner processes started for an isolated plugin.");
    for (const auto& [name, p] : s.plugins)
        if (p.runnerStarts != 0) out.sample("hostd_plugin_runner_starts_total", {{"plugin", name}}, static_cast<double>(p.runnerStarts));
    out.family("hostd_plugin_runner_ends_total", "counter",
               "Runner processes of an isolated plugin that ended, by how: unloaded, exited, crashed, killed, seccomp.");
    for (const auto& [name, p] : s.plugins)
        for (const auto& [how, n] : p.runnerEnds)
            out.sample("hostd_plugin_runner_ends_total", {{"plugin", name}, {"how", how}}, static_cast<double>(n));
    out.family("hostd_plugin_restarts_total", "counter",
               "Plugins started again, by reason: after a failure (crashed, exited, killed, seccomp, reported, failed), "
               "or for an operator, a configuration change, a dependency or a file put back.");
    for (const auto& [name, p] : s.plugins)
        for (const auto& [reason, n] : p.restarts)
            out.sample("hostd_plugin_restarts_total", {{"plugin", name}, {"reason", reason}}, static_cast<double>(n));
    std::vector<std::pair<std::string, ChildStats>> runners;
    for (const auto& [name, p] : s.plugins)
        if (p.runnerPid != 0)
            if (ChildStats runner = ChildStats::read(p.runnerPid); runner.alive) runners.emplace_back(name, runner);
    out.family("hostd_plugin_runner_resident_bytes", "gauge", "Resident memory of an isolated plugin's runner.");
    for (const auto& [name, runner] : runners)
        out.sample("hostd_plugin_runner_resident_bytes", {{"plugin", name}}, static_cast<double>(runner.residentBytes));
    out.family("hostd_plugin_runner_cpu_seconds_total", "counter", "CPU time (user + system) of an isolated plugin's runner.");
    for (const auto& [name, runner] : runners)
        out.sample("hostd_plugin_runner_cpu_seconds_total", {{"plugin", name}}, runner.cpuSeconds);

    out.family("hostd_config_reloads_total", "counter", "Configuration reloads (SIGHUP or a changed file), by result.");
    out.sample("hostd_config_reloads_total", {{"result", "ok"}}, static_cast<double>(s.reloadsOk));
    out.sample("hostd_config_reloads_total", {{"result", "failed"}}, static_cast<double>(s.reloadsFailed));

    out.family("hostd_drain_duration_seconds", "gauge",
               "Duration of the drain: 0 before it begins, growing while it runs, final once done.");
    out.sample("hostd_drain_duration_seconds", {}, s.drainSeconds);

    out.family("hostd_ready", "gauge", "1 once the start-up plugins have started, until the drain begins.");
    out.sample("hostd_ready", {}, s.phase == StatusBoard::Phase::Running ? 1 : 0);

    out.family("hostd_loader_held", "gauge",
               "1 once a plugin's load or unload never returned: no plugin can be loaded or unloaded until "
               "hostd restarts.");
    out.sample("hostd_loader_held", {}, s.loaderHeld ? 1 : 0);

    out.family("hostd_metrics_rejected_connections_total", "counter",
               "Metrics connections closed unserved because every worker was busy.");
    out.sample("hostd_metrics_rejected_connections_total", {}, static_cast<double>(s.rejectedConnections));

    out.family("hostd_log_lines_dropped_total", "counter",
               "Log lines the log destination did not take (a full pipe nobody reads): dropped, never waited for.");
    out.sample("hostd_log_lines_dropped_total", {}, static_cast<double>(LogOutput::droppedLines()));
    out.family("hostd_plugin_log_lines_suppressed_total", "counter", "Plugin log lines over log_rate_limit, dropped.");
    out.sample("hostd_plugin_log_lines_suppressed_total", {}, static_cast<double>(Log::suppressedLines()));

    out.family("hostd_plugin_late_service_calls_total", "counter",
               "Host service calls a plugin made through its context after its last stop returned: refused.");
    out.sample("hostd_plugin_late_service_calls_total", {}, static_cast<double>(StatusBoard::instance().lateServiceCalls()));

    out.family("hostd_build_info", "gauge", "hostd's version and plugin ABI; always 1.");
    out.sample("hostd_build_info",
               {{"version", HOSTD_VERSION},
                {"abi", std::to_string(HOSTD_ABI_MAJOR) + "." + std::to_string(HOSTD_ABI_MINOR)}},
               1);
}

void processMetrics(PrometheusText& out, const StatusBoard::Snapshot& s, const ProcessStats& p) {
    out.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
    out.sample("process_cpu_seconds_total", {}, p.cpuSeconds);
    out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    out.sample("process_resident_memory_bytes", {}, static_cast<double>(p.residentBytes));
    out.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    out.sample("process_virtual_memory_bytes", {}, static_cast<double>(p.virtualBytes));
    out.family("process_open_fds", "gauge", "Number of open file descriptors.");
    out.sample("process_open_fds", {}, static_cast<double>(p.openFds));
    out.family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
    out.sample("process_max_fds", {}, static_cast<double>(p.maxFds));
    out.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
    out.sample("process_start_time_seconds", {}, p.startTimeSeconds);
    out.family("hostd_threads", "gauge", "Threads of the hostd process, by owner (a plugin, host or unattributed).");
    std::map<std::string, int> owners;
    for (const auto& t : readThreads()) owners[threadOwner(s, t)]++;
    for (const auto& [owner, n] : owners) out.sample("hostd_threads", {{"owner", owner}}, n);
}

}  // namespace

std::string renderMetrics(const StatusBoard::Snapshot& s, const ProcessStats& process) {
    PrometheusText out;
    pluginMetrics(out, s);
    hostMetrics(out, s);
    processMetrics(out, s, process);
    return out.text();
}

}  // namespace hostd
