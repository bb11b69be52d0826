// The JSON endpoints: /healthz, /readyz and /debug/{threads,plugins,memory}.
#include "JsonWriter.h"
#include "Metrics.h"

#include <malloc.h>
#include <unistd.h>

namespace hostd {

namespace {

const StatusBoard::ThreadOwner* ownerRecord(const StatusBoard::Snapshot& s, const ThreadInfo& t) {
    auto it = s.threads.find(t.tid);
    if (it == s.threads.end()) return nullptr;
    // A call thread is attributed while the call runs; a tag holds only for the thread tagged.
    if (!it->second.inCall.empty() || it->second.startTicks == t.startTicks) return &it->second;
    return nullptr;
}

void writeCalls(JsonWriter& j, const std::map<std::string, StatusBoard::CallStats, std::less<>>& calls) {
    j.key("calls").beginObject();
    for (const auto& [call, c] : calls)
        j.key(call).beginObject()
            .field("count", static_cast<unsigned long long>(c.count))
            .field("failures", static_cast<unsigned long long>(c.failures))
            .field("seconds_total", c.seconds)
            .field("max_seconds", c.maxSeconds)
            .endObject();
    j.endObject();
}

void writeImages(JsonWriter& j, const std::vector<ImageMapping>& images) {
    j.beginArray();
    for (const auto& m : images)
        j.beginObject().field("path", m.path).field("mapped_bytes", static_cast<unsigned long long>(m.bytes))
            .field("mappings", m.mappings).endObject();
    j.endArray();
}

}  // namespace

std::string threadOwner(const StatusBoard::Snapshot& s, const ThreadInfo& t) {
    if (t.tid == ::getpid()) return "host";
    const StatusBoard::ThreadOwner* o = ownerRecord(s, t);
    if (o == nullptr) return "unattributed";
    return o->plugin.empty() ? "host" : o->plugin;
}

Health checkHealth(const StatusBoard::Snapshot& s) {
    Health h;
    JsonWriter j;
    j.beginObject().key("not_running").beginArray();
    for (const auto& [name, p] : s.plugins) {
        if (p.state == PluginState::Running || p.state == PluginState::Reloading || p.state == PluginState::Disabled)
            continue;
        h.ok = false;
        j.beginObject().field("plugin", name).field("state", stateName(p.state)).field("reason", p.reason).endObject();
    }
    // A plugin configured and enabled whose file is absent is not running either.
    if (s.config)
        for (const auto& [name, section] : s.config->plugins)
            if (section.enabled && !s.plugins.count(name)) {
                h.ok = false;
                j.beginObject().field("plugin", name).field("state", "missing")
                    .field("reason", "configured in " + section.origin.str() + " but no file " + name + ".so").endObject();
            }
    j.endArray().field("status", h.ok ? "ok" : "failing").endObject();
    h.json = j.str() + "\n";
    return h;
}

Health checkReady(const StatusBoard::Snapshot& s) {
    Health h;
    h.ok = s.phase == StatusBoard::Phase::Running;
    h.json = JsonWriter().beginObject().field("status", h.ok ? "ready" : "not ready")
                 .field("phase", phaseName(s.phase)).endObject().str() + "\n";
    return h;
}

std::vector<PluginUsage> pluginUsage(const StatusBoard::Snapshot& s) {
    std::map<std::string, PluginUsage> byName;
    for (const auto& [name, p] : s.plugins) {
        PluginUsage& u = byName[name];
        u.plugin = name;
        u.state = stateName(p.state);
        u.reason = p.reason;
        u.callbackCpuSeconds = p.callbackCpuSeconds;
        u.calls = p.calls;
        u.runnerPid = p.runnerPid;
        u.runnerStarts = p.runnerStarts;
        u.runnerEnds = p.runnerEnds;
        u.restarts = p.restarts;
        if (p.runnerPid != 0) u.runner = ChildStats::read(p.runnerPid);
    }
    for (const auto& t : readThreads()) {
        const StatusBoard::ThreadOwner* o = ownerRecord(s, t);
        if (o == nullptr || o->plugin.empty() || !o->inCall.empty()) continue;  // callbacks are counted exactly
        auto it = byName.find(o->plugin);
        if (it == byName.end()) continue;
        it->second.threadCpuSeconds += t.cpuSeconds;
        it->second.threads++;
    }
    for (auto& [name, images] : readPluginImageMappings())
        if (auto it = byName.find(name); it != byName.end()) it->second.images = std::move(images);
    std::vector<PluginUsage> out;
    for (auto& [_, u] : byName) out.push_back(std::move(u));
    return out;
}

std::vector<PluginUsage> pluginUsage() { return pluginUsage(StatusBoard::instance().snapshot()); }

std::string pluginUsageJson(const std::vector<PluginUsage>& usage) {
    JsonWriter j;
    j.beginObject().key("plugins").beginArray();
    for (const auto& u : usage) {
        j.beginObject().field("name", u.plugin).field("state", u.state).field("reason", u.reason);
        j.key("cpu_seconds").beginObject().field("callbacks", u.callbackCpuSeconds).field("threads", u.threadCpuSeconds)
            .endObject();
        j.field("threads", u.threads);
        j.key("restarts").beginObject();
        for (const auto& [reason, n] : u.restarts) j.field(reason, static_cast<unsigned long long>(n));
        j.endObject();
        writeCalls(j, u.calls);
        unsigned long long mapped = 0;
        for (const auto& m : u.images) mapped += m.bytes;
        j.key("image").beginObject().field("mapped_bytes", mapped).key("mappings");
        writeImages(j, u.images);
        j.endObject();
        j.key("runner");
        if (u.runnerPid != 0)
            j.beginObject().field("pid", static_cast<long long>(u.runnerPid)).field("resident_bytes", static_cast<unsigned long long>(u.runner.residentBytes))
                .field("cpu_seconds", u.runner.cpuSeconds).field("starts", static_cast<unsigned long long>(u.runnerStarts)).endObject();
        else
            j.null();
        j.endObject();
    }
    j.endArray().endObject();
    return j.str() + "\n";
}

std::string threadsJson(const StatusBoard::Snapshot& s) {
    JsonWriter j;
    j.beginObject().key("threads").beginArray();
    for (const auto& t : readThreads()) {
        const StatusBoard::ThreadOwner* o = ownerRecord(s, t);
        j.beginObject().field("tid", static_cast<long long>(t.tid)).field("name", t.name)
            .field("owner", threadOwner(s, t)).field("tag", o ? o->name : "").field("in_call", o ? o->inCall : "")
            .field("state", std::string(1, t.state)).field("cpu_seconds", t.cpuSeconds).endObject();
    }
    j.endArray().endObject();
    return j.str() + "\n";
}

std::string memoryJson() {
    ProcessStats p = ProcessStats::read();
    struct mallinfo2 mi = ::mallinfo2();
    JsonWriter j;
    j.beginObject()
        .field("rss_bytes", static_cast<unsigned long long>(p.residentBytes))
        .field("virtual_bytes", static_cast<unsigned long long>(p.virtualBytes));
    j.key("heap").beginObject()
        .field("arena_bytes", static_cast<unsigned long long>(mi.arena))
        .field("in_use_bytes", static_cast<unsigned long long>(mi.uordblks))
        .field("free_bytes", static_cast<unsigned long long>(mi.fordblks))
        .field("mmapped_bytes", static_cast<unsigned long long>(mi.hblkhd))
        .field("mmapped_chunks", static_cast<unsigned long long>(mi.hblks))
        .field("free_chunks", static_cast<unsigned long long>(mi.ordblks))
        .field("releasable_bytes", static_cast<unsigned long long>(mi.keepcost))
        .endObject();
    j.key("plugin_images").beginArray();
    for (const auto& [plugin, images] : readPluginImageMappings())
        for (const auto& m : images)
            j.beginObject().field("plugin", plugin).field("path", m.path)
                .field("mapped_bytes", static_cast<unsigned long long>(m.bytes)).field("mappings", m.mappings).endObject();
    j.endArray().endObject();
    return j.str() + "\n";
}

}  // namespace hostd
