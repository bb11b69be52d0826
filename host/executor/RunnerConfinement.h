#pragma once

#include "Config.h"
#include "Confine.h"

namespace hostd {

runner::Confinement resolveConfinement(const Confinement& configured, std::vector<std::string>& unknownSyscalls);
    /// The configured confinement of an isolated plugin as its runner applies it: user and group
    /// names resolved to ids (a user's supplementary groups with it), capability names to
    /// numbers, rlimit keys to resources, the seccomp mode to its compiled filter
    /// (SeccompFilter.h; seccomp_allow names unknown here are skipped and added to
    /// unknownSyscalls). Throws LoadError naming what does not exist.

std::string syscallName(int number);
    /// "ptrace", or "system call 101" if this libseccomp does not know it.

}  // namespace hostd
