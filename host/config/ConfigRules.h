#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hostd {

// The rules of the [hostd] keys whose values other layers apply (accounts, capabilities,
// resource limits, the control socket's path): the validator checks them here; the daemon and
// the control socket use what passed. Pure functions, but for capability names, which libcap
// knows.

std::optional<unsigned> parseNumericId(const std::string& text);
    /// A bare number (a uid or gid), or nothing.

std::string checkAccountName(const std::string& key, const std::string& value);
    /// For the configuration validator: an empty string if value can be a user or group
    /// name, a numeric id, or is empty (keep the starting one), else the message. Whether
    /// it exists is checked at start.

std::string parseCapabilities(std::string_view text, std::vector<std::string>& out);
    /// For the configuration validator: parses a comma/space separated list of capability
    /// names (cap_net_bind_service; case does not matter; empty or "none" for none) into
    /// out, spelled as libcap spells them. Returns an empty string, or the message naming
    /// the first unknown name.

std::string joinCapabilities(const std::vector<std::string>& names);
    /// "cap_a, cap_b", or "none".

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

struct Confinement;

std::string applyConfinementKey(const std::string& key, const std::string& value, Confinement& out);
    /// For the configuration validator: sets key (isConfinementKey) of out from value, or
    /// returns the message saying why value is not valid for it.

std::string checkSocketPath(const std::string& key, const std::string& value);
    /// For the configuration validator: empty if value is empty (no socket) or an absolute
    /// path that fits in a sockaddr_un, else the message.

}  // namespace hostd
