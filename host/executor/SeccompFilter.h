#pragma once

#include <string>
#include <vector>

namespace hostd {

std::string seccompFilter(const std::string& mode, const std::vector<std::string>& allow, std::vector<std::string>& unknown);
    /// The BPF program (struct sock_filter[], as bytes) of seccomp = mode (default, strict; off:
    /// empty) with allow allowed besides, built with libseccomp from systemd's groups
    /// (SyscallGroups.inc): refused calls trap (SIGSYS), other architectures are killed.
    /// Compiled once per mode and allow list, then served from a cache: a runner installs it
    /// as it is. Names in allow this libseccomp does not know are skipped and put in unknown.
    /// Throws std::runtime_error if libseccomp fails.

}  // namespace hostd
