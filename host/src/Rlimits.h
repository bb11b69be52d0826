#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hostd {

class ConfigSnapshot;

/// One rlimit_* value of [hostd] (DESIGN.md section 5), as parsed:
///   ""          keep the inherited limits
///   "hard"      raise the soft limit to the hard one (the default of rlimit_nofile)
///   "N"         soft and hard limit N
///   "SOFT:HARD" each on its own
/// A number may be "unlimited"; sizes (rlimit_core, rlimit_fsize) may end in K, M, G or T
/// (powers of 1024).
struct LimitSpec {
    enum class Kind { Inherit, SoftToHard, Set };
    static constexpr std::uint64_t kUnlimited = UINT64_MAX;  ///< RLIM_INFINITY.

    Kind kind = Kind::Inherit;
    std::uint64_t soft = 0;  ///< Kind::Set only.
    std::uint64_t hard = 0;  ///< Kind::Set only.
};

std::optional<LimitSpec> parseLimit(std::string_view text, bool isSize);
    /// The value, or nothing if it is not one of the forms above (or soft exceeds hard).

std::string checkLimit(const std::string& key, const std::string& value);
    /// For the configuration validator: an empty string if value is valid for the key
    /// rlimit_nofile, rlimit_core or rlimit_fsize, else the message saying why not.

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
