#include "Output.h"

#include <Poco/JSON/Array.h>

#include <algorithm>
#include <cstdio>
#include <vector>

namespace hostctl {

namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

std::string text(const Object& o, const std::string& key) {
    return o.has(key) && !o.isNull(key) ? o.get(key).toString() : "";
}

std::string duration(long long secs) {
    std::string out;
    if (secs >= 86400) out += std::to_string(secs / 86400) + "d";
    if (secs >= 3600) out += std::to_string(secs / 3600 % 24) + "h";
    if (secs >= 60) out += std::to_string(secs / 60 % 60) + "m";
    return out + std::to_string(secs % 60) + "s";
}

void printTable(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
    std::vector<std::size_t> width;
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (width.size() <= i) width.push_back(0);
            width[i] = std::max(width[i], row[i].size());
        }
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i)
            line += i + 1 == row.size() ? row[i] : row[i] + std::string(width[i] - row[i].size() + 2, ' ');
        out << line << "\n";
    }
}

void printStatus(const Object& r, std::ostream& out) {
    std::string counts;
    if (auto plugins = r.getObject("plugins"))
        for (const auto& [state, n] : *plugins) counts += (counts.empty() ? "" : ", ") + n.toString() + " " + state;
    std::string reload = "none since start";
    if (auto last = r.getObject("last_reload")) {
        reload = (last->getValue<bool>("ok") ? "ok, generation " + text(*last, "generation") : std::string("FAILED")) +
                 " at " + text(*last, "at") + " (" + text(*last, "reason") + ")";
        if (auto errors = last->getArray("errors"))
            for (std::size_t i = 0; i < errors->size(); ++i) reload += "\n              " + errors->getElement<std::string>(i);
    }
    std::string loader = "free";
    if (auto held = r.getObject("loader_held_by"))
        loader = "HELD by " + text(*held, "plugin") + "'s " + text(*held, "call") +
                 ", which never returned: restart hostd to load or unload plugins";
    printTable({{"phase:", text(r, "phase")},
                {"pid:", text(r, "pid")},
                {"uptime:", duration(r.getValue<long long>("uptime_seconds")) + " (since " + text(r, "started_at") + ")"},
                {"generation:", text(r, "generation")},
                {"config:", text(r, "config")},
                {"plugin dir:", text(r, "plugin_dir")},
                {"plugins:", counts.empty() ? "none" : counts},
                {"last reload:", reload},
                {"loader:", loader}},
               out);
}

/// "hostd", or "runner 1234" for an isolated plugin ("runner -" while none lives).
std::string runsIn(const Object& p) {
    if (text(p, "isolation") != "process") return "hostd";
    std::string pid = text(p, "runner_pid");
    return "runner " + (pid.empty() || pid == "0" ? std::string("-") : pid);
}

void printList(const Object& r, std::ostream& out) {
    std::vector<std::vector<std::string>> rows{{"NAME", "STATE", "VERSION", "LOADED", "REQUIRES", "CONTENT", "RUNS IN", "REASON"}};
    auto plugins = r.getArray("plugins");
    for (std::size_t i = 0; plugins && i < plugins->size(); ++i) {
        auto p = plugins->getObject(static_cast<unsigned>(i));
        std::string deps;
        if (auto a = p->getArray("dependencies"))
            for (std::size_t j = 0; j < a->size(); ++j) deps += (deps.empty() ? "" : ",") + a->getElement<std::string>(j);
        std::string reason = text(*p, "reason");
        std::string last = text(*p, "last_error");
        if (!last.empty() && last != reason) reason += (reason.empty() ? "" : "; ") + std::string("last error: ") + last;
        if (!text(*p, "quarantined_since").empty()) reason += " (since " + text(*p, "quarantined_since") + ")";
        rows.push_back({text(*p, "name"), text(*p, "state"), text(*p, "version"), text(*p, "loaded_since"),
                        deps.empty() ? "-" : deps, text(*p, "content").substr(0, 12), runsIn(*p), reason});
    }
    printTable(rows, out);
}

double number(const Object& o, const std::string& key) {
    return o.has(key) && !o.isNull(key) ? o.getValue<double>(key) : 0.0;
}

std::string seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", s);
    return buf;
}

void printTop(const Object& r, std::ostream& out) {
    struct Row {
        double total;
        std::vector<std::string> cells;
    };
    std::vector<Row> rows;
    auto plugins = r.getArray("plugins");
    for (std::size_t i = 0; plugins && i < plugins->size(); ++i) {
        auto p = plugins->getObject(static_cast<unsigned>(i));
        auto cpu = p->getObject("cpu_seconds");
        double callbacks = cpu ? number(*cpu, "callbacks") : 0, threads = cpu ? number(*cpu, "threads") : 0;
        long long calls = 0;
        if (auto c = p->getObject("calls"))
            for (const auto& [name, _] : *c)
                if (auto stats = c->getObject(name)) calls += static_cast<long long>(number(*stats, "count"));
        // An isolated plugin's CPU is its runner's, all of it; its memory, the runner's resident set.
        double runnerCpu = 0;
        std::string runner = "-";
        if (auto r = p->has("runner") && !p->isNull("runner") ? p->getObject("runner") : nullptr) {
            runnerCpu = number(*r, "cpu_seconds");
            char buf[64];
            std::snprintf(buf, sizeof buf, "%s (%.1f MB)", text(*r, "pid").c_str(), number(*r, "resident_bytes") / (1 << 20));
            runner = buf;
        }
        double total = callbacks + threads + runnerCpu;
        rows.push_back({total,
                        {text(*p, "name"), text(*p, "state"), seconds(total), seconds(callbacks), seconds(threads),
                         text(*p, "threads"), std::to_string(calls), runner}});
    }
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.total > b.total; });
    std::vector<std::vector<std::string>> table{
        {"NAME", "STATE", "CPU_S", "CALLBACKS_S", "THREADS_S", "THREADS", "CALLS", "RUNNER"}};
    for (auto& row : rows) table.push_back(std::move(row.cells));
    printTable(table, out);
}

}  // namespace

void printHuman(const std::string& cmd, const Object& r, std::ostream& out) {
    if (cmd == "status")
        printStatus(r, out);
    else if (cmd == "list")
        printList(r, out);
    else if (cmd == "top")
        printTop(r, out);
    else if (cmd == "reload" && !r.has("plugin"))
        out << "configuration reloaded: generation " << text(r, "generation") << "\n";
    else if (cmd == "log-level")
        out << "log level " << text(r, "level") << (r.has("plugin") ? " for plugin " + text(r, "plugin") : "") << "\n";
    else
        out << cmd << " " << text(r, "plugin") << ": accepted (now " << text(r, "state")
            << (text(r, "pending").empty() ? "" : ", " + text(r, "pending") + " pending") << ")\n";
}

}  // namespace hostctl
