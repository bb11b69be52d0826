#include "RunnerConfinement.h"

#include "ConfigRules.h"
#include "ElfFile.h"
#include "SeccompFilter.h"

#include <cerrno>
#include <cstdlib>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include <vector>

namespace hostd {

namespace {

struct Account {
    std::uint64_t id = 0;
    gid_t primaryGroup = 0;
    std::string name;
};

Account user(const std::string& text) {
    std::vector<char> buf(16384);
    passwd pw{}, *found = nullptr;
    int rc = parseNumericId(text) ? ::getpwuid_r(*parseNumericId(text), &pw, buf.data(), buf.size(), &found)
                                  : ::getpwnam_r(text.c_str(), &pw, buf.data(), buf.size(), &found);
    if (found == nullptr) {
        if (parseNumericId(text) && rc == 0) return {*parseNumericId(text), static_cast<gid_t>(*parseNumericId(text)), ""};
        throw LoadError("user = " + text + ": no such user");
    }
    return {pw.pw_uid, pw.pw_gid, pw.pw_name};
}

std::uint64_t group(const std::string& text) {
    if (auto id = parseNumericId(text)) return *id;
    std::vector<char> buf(16384);
    struct group gr {}, *found = nullptr;
    ::getgrnam_r(text.c_str(), &gr, buf.data(), buf.size(), &found);
    if (found == nullptr) throw LoadError("group = " + text + ": no such group");
    return gr.gr_gid;
}

int resourceOf(const std::string& key) {
    if (key == "rlimit_nofile") return RLIMIT_NOFILE;
    if (key == "rlimit_as") return RLIMIT_AS;
    if (key == "rlimit_nproc") return RLIMIT_NPROC;
    return RLIMIT_CORE;
}

}  // namespace

runner::Confinement resolveConfinement(const Confinement& configured, std::vector<std::string>& unknownSyscalls) {
    runner::Confinement c;
    if (!configured.user.empty()) {
        Account a = user(configured.user);
        c.uid = a.id;
        c.gid = a.primaryGroup;
        c.setGroups = true;
        if (!a.name.empty()) {  // its supplementary groups, as a login would have them
            int n = 64;
            std::vector<gid_t> groups(static_cast<std::size_t>(n));
            if (::getgrouplist(a.name.c_str(), a.primaryGroup, groups.data(), &n) < 0) {
                groups.resize(static_cast<std::size_t>(n));
                ::getgrouplist(a.name.c_str(), a.primaryGroup, groups.data(), &n);
            }
            groups.resize(static_cast<std::size_t>(std::max(n, 0)));
            c.groups.assign(groups.begin(), groups.end());
        }
    }
    if (!configured.group.empty()) {
        c.gid = group(configured.group);
        c.setGroups = true;
        if (configured.user.empty()) c.groups = {c.gid};
    }
    if (configured.capabilities) {
        c.hasCapabilities = true;
        for (const auto& name : *configured.capabilities) {
            cap_value_t v = 0;
            if (::cap_from_name(name.c_str(), &v) != 0) throw LoadError("capabilities: unknown capability " + name);
            c.capabilities.push_back(static_cast<std::uint64_t>(v));
        }
    }
    for (const auto& [key, value] : configured.rlimits) {
        auto spec = parseLimit(value, key == "rlimit_as" || key == "rlimit_core");
        if (!spec || spec->kind != LimitSpec::Kind::Set) continue;  // validated with the configuration
        c.limits.push_back({static_cast<std::uint64_t>(resourceOf(key)), spec->soft, spec->hard});
    }
    std::vector<std::string> unknown;
    try {
        c.filter = seccompFilter(configured.seccomp, configured.seccompAllow, unknown);
    } catch (const std::runtime_error& e) {
        throw LoadError(std::string("seccomp filter: ") + e.what());
    }
    for (const auto& name : unknown) unknownSyscalls.push_back(name);
    return c;
}

std::string syscallName(int number) {
    char* name = ::seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, number);
    std::string out = name != nullptr ? name : "system call " + std::to_string(number);
    std::free(name);
    return out;
}

}  // namespace hostd
