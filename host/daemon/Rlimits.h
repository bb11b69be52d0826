#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hostd {

class ConfigSnapshot;

// Applying the rlimit_* keys of [hostd]; their values are parsed by ConfigRules.h.

void applyLimits(const ConfigSnapshot& config);
    /// Sets the configured limits. Must run before privileges are dropped: raising a hard
    /// limit needs CAP_SYS_RESOURCE. Throws StartupError (kExitOsError) naming the key and
    /// where it was set if setrlimit refuses.

void reserveDescriptorTable(unsigned slots = 4096);
    /// Grows the descriptor table to min(slots, RLIMIT_NOFILE) now; call while the process has
    /// one thread. The kernel grows the table by doubling, and while more than one thread shares
    /// it each growth waits for an RCU grace period (expand_fdtable): milliseconds, paid by
    /// whatever opens the next descriptor, such as the main loop loading its 257th plugin
    /// (a memfd per plugin). Grown single-threaded it costs microseconds; it never shrinks.

std::string describeLimits();
    /// The current limits hostd manages, "nofile=1024:4096 core=0:unlimited fsize=...", for the log.

}  // namespace hostd
