#pragma once

#include "Config.h"
#include "Confine.h"

namespace hostd {

runner::Confinement resolveConfinement(const Confinement& configured);
    /// The configured confinement of an isolated plugin as its runner applies it: user and group
    /// names resolved to ids (a user's supplementary groups with it), capability names to
    /// numbers, rlimit keys to resources. Throws LoadError naming what does not exist.

std::string syscallName(int number);
    /// "ptrace", or "system call 101" if this libseccomp does not know it.

}  // namespace hostd
