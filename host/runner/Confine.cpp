// Confinement applied in the runner (Confine.h): only hostd-runner links this.
#include "Confine.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace hostd::runner {

namespace {

std::string failed(const std::string& what) { return what + ": " + std::strerror(errno); }

/// SIGSYS from the filter (SECCOMP_RET_TRAP): hostd is told which call, then the runner dies by
/// the signal. Async-signal-safe: a fixed message and send, no allocation.
void onSigsys(int, siginfo_t* info, void*) {
    Header h{static_cast<std::uint32_t>(Type::Violation), 0, info->si_syscall, 0};
    (void)::send(kSocketFd, &h, sizeof h, MSG_NOSIGNAL);
    static const char kWhy[] = "hostd-runner: seccomp refused a system call of the plugin\n";
    (void)!::write(2, kWhy, sizeof kWhy - 1);
    ::signal(SIGSYS, SIG_DFL);
    sigset_t sys;
    sigemptyset(&sys);
    sigaddset(&sys, SIGSYS);
    ::sigprocmask(SIG_UNBLOCK, &sys, nullptr);
    ::raise(SIGSYS);
    ::_exit(128 + SIGSYS);
}

}  // namespace

std::string confineBeforeLoad(const Confinement& c) {
    for (const auto& l : c.limits) {
        rlimit r{static_cast<rlim_t>(l.soft), static_cast<rlim_t>(l.hard)};
        if (::setrlimit(static_cast<__rlimit_resource>(l.resource), &r) != 0)
            return failed("setrlimit(" + std::to_string(l.resource) + ")");
    }
    bool newUser = c.uid != kKeepId;
    if (c.hasCapabilities || newUser) {
        // Nothing beyond what is kept can ever come back (a file capability, a setuid binary).
        for (cap_value_t v = 0; v <= CAP_LAST_CAP; ++v) {
            bool kept = std::find(c.capabilities.begin(), c.capabilities.end(), static_cast<std::uint64_t>(v)) != c.capabilities.end();
            if (!kept && CAP_IS_SUPPORTED(v) && ::cap_drop_bound(v) != 0 && errno != EPERM && errno != EINVAL)
                return failed("dropping capability " + std::to_string(v) + " from the bounding set");
        }
    }
    if (c.setGroups) {
        std::vector<gid_t> groups(c.groups.begin(), c.groups.end());
        if (::setgroups(groups.size(), groups.data()) != 0) return failed("setgroups");
    }
    if (c.gid != kKeepId && ::setresgid(static_cast<gid_t>(c.gid), static_cast<gid_t>(c.gid), static_cast<gid_t>(c.gid)) != 0)
        return failed("setgid(" + std::to_string(c.gid) + ")");
    if (newUser) {
        if (::prctl(PR_SET_KEEPCAPS, 1) != 0) return failed("PR_SET_KEEPCAPS");
        if (::setresuid(static_cast<uid_t>(c.uid), static_cast<uid_t>(c.uid), static_cast<uid_t>(c.uid)) != 0)
            return failed("setuid(" + std::to_string(c.uid) + ")");
    }
    if (c.hasCapabilities || newUser) {
        cap_t caps = ::cap_init();
        std::vector<cap_value_t> values(c.capabilities.begin(), c.capabilities.end());
        if (caps == nullptr) return failed("cap_init");
        if (!values.empty()) {
            ::cap_set_flag(caps, CAP_PERMITTED, static_cast<int>(values.size()), values.data(), CAP_SET);
            ::cap_set_flag(caps, CAP_EFFECTIVE, static_cast<int>(values.size()), values.data(), CAP_SET);
        }
        int rc = ::cap_set_proc(caps);
        ::cap_free(caps);
        if (rc != 0) return failed("keeping the capabilities (is each in hostd's own set?)");
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return failed("PR_SET_NO_NEW_PRIVS");
    return {};
}

std::string installFilter(const Confinement& c) {
    if (c.filter.empty()) return {};
    if (c.filter.size() % sizeof(sock_filter) != 0) return "a seccomp filter of " + std::to_string(c.filter.size()) + " bytes";
    struct sigaction sa {};
    sa.sa_sigaction = onSigsys;
    sa.sa_flags = SA_SIGINFO;
    if (::sigaction(SIGSYS, &sa, nullptr) != 0) return failed("sigaction(SIGSYS)");
    std::vector<sock_filter> code(c.filter.size() / sizeof(sock_filter));
    std::memcpy(code.data(), c.filter.data(), c.filter.size());
    sock_fprog prog{static_cast<unsigned short>(code.size()), code.data()};
    // Every thread, the plugin's constructors' too; NO_NEW_PRIVS is set (confineBeforeLoad).
    long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
    if (rc < 0) return failed("seccomp(SECCOMP_SET_MODE_FILTER)");
    if (rc > 0) return "seccomp: thread " + std::to_string(rc) + " could not take the filter";
    return {};
}

}  // namespace hostd::runner
