#include "SeccompFilter.h"

#include "UniqueFd.h"

#include <algorithm>
#include <cerrno>
#include <map>
#include <seccomp.h>
#include <stdexcept>
#include <sys/mman.h>
#include <unistd.h>

namespace hostd {

namespace {

#include "SyscallGroups.inc"

bool contains(const std::vector<std::string>& names, const char* name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

std::string compile(const std::string& mode, const std::vector<std::string>& allow) {
    bool strict = mode == "strict";
    scmp_filter_ctx ctx = ::seccomp_init(strict ? SCMP_ACT_TRAP : SCMP_ACT_ALLOW);
    if (ctx == nullptr) throw std::runtime_error("seccomp_init failed");
    // A binary tree over the syscall numbers rather than a list: a strict filter allows 400
    // calls, and every call of the plugin runs through it.
    (void)::seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    auto rule = [&](const char* name, std::uint32_t action) {
        int nr = ::seccomp_syscall_resolve_name(name);
        if (nr != __NR_SCMP_ERROR) (void)::seccomp_rule_add(ctx, action, nr, 0);  // unknown here: skipped
    };
    if (strict) {
        for (const char* name : kStrictAllowed) rule(name, SCMP_ACT_ALLOW);
        for (const auto& name : allow) rule(name.c_str(), SCMP_ACT_ALLOW);
    } else {
        for (const char* name : kDefaultDenied)
            if (!contains(allow, name)) rule(name, SCMP_ACT_TRAP);
        for (const char* name : kDefaultDeniedExtra)
            if (!contains(allow, name)) rule(name, SCMP_ACT_TRAP);
    }
    UniqueFd out(::memfd_create("hostd:seccomp", MFD_CLOEXEC));
    int rc = out ? ::seccomp_export_bpf(ctx, out.get()) : -errno;
    ::seccomp_release(ctx);
    if (rc != 0) throw std::runtime_error("seccomp_export_bpf failed");
    std::string bpf;
    char buf[4096];
    ::lseek(out.get(), 0, SEEK_SET);
    for (ssize_t n; (n = ::read(out.get(), buf, sizeof buf)) > 0;) bpf.append(buf, static_cast<std::size_t>(n));
    return bpf;
}

}  // namespace

std::string seccompFilter(const std::string& mode, const std::vector<std::string>& allow, std::vector<std::string>& unknown) {
    if (mode == "off") return {};
    for (const auto& name : allow)
        if (::seccomp_syscall_resolve_name(name.c_str()) == __NR_SCMP_ERROR) unknown.push_back(name);
    static std::map<std::pair<std::string, std::vector<std::string>>, std::string> cache;  // main loop only
    auto key = std::make_pair(mode, allow);
    auto it = cache.find(key);
    if (it == cache.end()) it = cache.emplace(key, compile(mode, allow)).first;
    return it->second;
}

}  // namespace hostd
