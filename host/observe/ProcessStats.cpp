#include "ProcessStats.h"

#include <algorithm>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <sys/resource.h>
#include <unistd.h>

namespace hostd {

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// Fields 3.. of a /proc stat line (after "pid (comm) "), so that fields()[0] is field 3.
std::vector<std::string> statFields(const std::string& text) {
    std::vector<std::string> out;
    auto paren = text.rfind(')');
    if (paren == std::string::npos || paren + 2 > text.size()) return out;
    std::istringstream in(text.substr(paren + 2));
    for (std::string f; in >> f;) out.push_back(f);
    return out;
}

unsigned long long field(const std::vector<std::string>& f, int number) {
    std::size_t i = static_cast<std::size_t>(number - 3);
    return i < f.size() ? std::strtoull(f[i].c_str(), nullptr, 10) : 0;
}

double ticksPerSecond() {
    static const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
    return hz > 0 ? hz : 100;
}

double bootTime() {
    std::istringstream in(slurp("/proc/stat"));
    for (std::string line; std::getline(in, line);)
        if (line.rfind("btime ", 0) == 0) return std::strtod(line.c_str() + 6, nullptr);
    return 0;
}

std::vector<std::string> listDir(const char* path) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(path)) {
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') out.emplace_back(e->d_name);
        ::closedir(d);
    }
    return out;
}

}  // namespace

ChildStats ChildStats::read(pid_t pid) {
    ChildStats s;
    std::string dir = "/proc/" + std::to_string(pid);
    auto f = statFields(slurp(dir + "/stat"));
    if (f.empty()) return s;
    s.alive = true;
    s.cpuSeconds = static_cast<double>(field(f, 14) + field(f, 15)) / ticksPerSecond();
    std::istringstream statm(slurp(dir + "/statm"));
    std::uint64_t size = 0, resident = 0;
    statm >> size >> resident;
    s.residentBytes = resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    return s;
}

ProcessStats ProcessStats::read() {
    ProcessStats s;
    auto f = statFields(slurp("/proc/self/stat"));
    s.cpuSeconds = static_cast<double>(field(f, 14) + field(f, 15)) / ticksPerSecond();
    s.virtualBytes = field(f, 23);
    s.residentBytes = field(f, 24) * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    s.startTimeSeconds = bootTime() + static_cast<double>(field(f, 22)) / ticksPerSecond();
    s.openFds = listDir("/proc/self/fd").size();
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) s.maxFds = limit.rlim_cur;
    return s;
}

std::vector<ThreadInfo> readThreads() {
    std::vector<ThreadInfo> out;
    for (const auto& name : listDir("/proc/self/task")) {
        std::string dir = "/proc/self/task/" + name;
        auto f = statFields(slurp(dir + "/stat"));
        if (f.empty()) continue;  // ended meanwhile
        ThreadInfo t;
        t.tid = static_cast<pid_t>(std::strtol(name.c_str(), nullptr, 10));
        t.name = slurp(dir + "/comm");
        if (!t.name.empty() && t.name.back() == '\n') t.name.pop_back();
        t.state = f[0].empty() ? '?' : f[0][0];
        t.cpuSeconds = static_cast<double>(field(f, 14) + field(f, 15)) / ticksPerSecond();
        t.startTicks = field(f, 22);
        out.push_back(std::move(t));
    }
    return out;
}

std::map<std::string, std::vector<ImageMapping>> readPluginImageMappings() {
    // PluginImage.cpp names each private copy "hostd:NAME.so" (memfd_create).
    static const std::string kPrefix = "/memfd:hostd:";
    std::map<std::string, std::vector<ImageMapping>> out;
    std::istringstream in(slurp("/proc/self/maps"));
    for (std::string line; std::getline(in, line);) {
        auto at = line.find(kPrefix);
        if (at == std::string::npos) continue;
        std::string path = line.substr(at);
        auto dotSo = path.find(".so", kPrefix.size());
        if (dotSo == std::string::npos) continue;
        std::string plugin = path.substr(kPrefix.size(), dotSo - kPrefix.size());
        unsigned long long begin = 0, end = 0, inode = 0;
        if (std::sscanf(line.c_str(), "%llx-%llx %*s %*s %*s %llu", &begin, &end, &inode) != 3 || end < begin) continue;
        // Two images of one plugin (an upgrade in progress) share the name, not the inode.
        auto& images = out[plugin];
        auto it = std::find_if(images.begin(), images.end(), [&](const ImageMapping& m) { return m.inode == inode; });
        if (it == images.end()) it = images.insert(images.end(), ImageMapping{path, inode, 0, 0});
        it->bytes += end - begin;
        ++it->mappings;
    }
    return out;
}

}  // namespace hostd
