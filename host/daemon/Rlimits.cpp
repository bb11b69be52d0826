#include "Rlimits.h"

#include "Config.h"
#include "ConfigRules.h"
#include "ExitCode.h"
#include "StartupError.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace hostd {

static_assert(RLIM_INFINITY == LimitSpec::kUnlimited, "LimitSpec::kUnlimited must be RLIM_INFINITY");

namespace {

/// The limits hostd manages: their key, resource, whether values are byte sizes, and the
/// HostSettings member that holds the value.
struct Resource {
    const char* key;
    const char* shortName;
    int resource;
    bool isSize;
    std::string HostSettings::*value;
};

const std::array<Resource, 3> kResources{{
    {"rlimit_nofile", "nofile", RLIMIT_NOFILE, false, &HostSettings::rlimitNofile},
    {"rlimit_core", "core", RLIMIT_CORE, true, &HostSettings::rlimitCore},
    {"rlimit_fsize", "fsize", RLIMIT_FSIZE, true, &HostSettings::rlimitFsize},
}};

std::string formatNumber(rlim_t n) { return n == RLIM_INFINITY ? "unlimited" : std::to_string(n); }

}  // namespace

void applyLimits(const ConfigSnapshot& config) {
    for (const auto& r : kResources) {
        const std::string& text = config.host.*r.value;
        auto spec = parseLimit(text, r.isSize);  // validated when the configuration was loaded
        if (!spec || spec->kind == LimitSpec::Kind::Inherit) continue;
        rlimit limit{};
        if (::getrlimit(r.resource, &limit) != 0) throw StartupError(kExitOsError, systemErrorText(r.key, errno));
        if (spec->kind == LimitSpec::Kind::SoftToHard) {
            limit.rlim_cur = limit.rlim_max;
        } else {
            limit.rlim_cur = spec->soft;
            limit.rlim_max = spec->hard;
        }
        if (::setrlimit(r.resource, &limit) != 0) {
            int error = errno;
            auto origin = config.hostOrigins.find(r.key);
            std::string where = origin == config.hostOrigins.end() ? "default" : origin->second.str();
            throw StartupError(kExitOsError, where + ": " + r.key + " = '" + text + "': " +
                                                 systemErrorText("setrlimit", error) +
                                                 (error == EPERM ? " (raising a hard limit needs CAP_SYS_RESOURCE)" : ""));
        }
    }
}

void reserveDescriptorTable(unsigned slots) {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t want = std::min<rlim_t>(rl.rlim_cur, slots);
    if (want < 2) return;
    int any = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (any < 0) return;
    // The lowest free descriptor at or above want - 1: the table now has room for it.
    int high = ::fcntl(any, F_DUPFD_CLOEXEC, static_cast<int>(want - 1));
    if (high >= 0) ::close(high);
    ::close(any);
}

std::string describeLimits() {
    std::string out;
    for (const auto& r : kResources) {
        rlimit limit{};
        if (::getrlimit(r.resource, &limit) != 0) continue;
        out += (out.empty() ? "" : " ") + std::string(r.shortName) + "=" + formatNumber(limit.rlim_cur) + ":" +
               formatNumber(limit.rlim_max);
    }
    return out;
}

}  // namespace hostd
