#pragma once

// What an isolated plugin's runner is confined to (the [plugin.NAME] keys user, group,
// capabilities, rlimit_*, seccomp, seccomp_allow), as hostd resolved it and sends it in the
// Confine message:
//   u64 uid, u64 gid (kKeepId: unchanged), u64 n, n x u64 supplementary gid (n = kKeepId: unchanged),
//   u64 has_capabilities, u64 n, n x u64 capability, u64 n, n x (u64 resource, u64 soft, u64 hard),
//   str filter: the seccomp BPF program (struct sock_filter[]) hostd compiled, empty for none.

#include "RunnerProtocol.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hostd::runner {

struct Confinement {
    struct Limit {
        std::uint64_t resource = 0, soft = 0, hard = 0;
    };
    std::uint64_t uid = kKeepId, gid = kKeepId;
    bool setGroups = false;
    std::vector<std::uint64_t> groups;
    bool hasCapabilities = false;
    std::vector<std::uint64_t> capabilities;
    std::vector<Limit> limits;
    std::string filter;  ///< BPF instructions (struct sock_filter), compiled by hostd once per mode.

    void write(Writer& w) const;
    static Confinement read(Reader& in);
};

std::string confineBeforeLoad(const Confinement& c);
    /// In the runner, before the plugin is loaded: rlimits, groups, gid, uid, capabilities (and
    /// the bounding set), NO_NEW_PRIVS, in that order. Empty, or what failed.

std::string installFilter(const Confinement& c);
    /// In the runner, after the load and before any call: the seccomp filter, on every thread.
    /// A refused call (SECCOMP_RET_TRAP) sends Violation and kills the runner by SIGSYS. Empty,
    /// or what failed.

}  // namespace hostd::runner
