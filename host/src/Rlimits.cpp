#include "Rlimits.h"

#include "Config.h"
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

std::optional<std::uint64_t> parseNumber(std::string_view text, bool isSize) {
    if (text == "unlimited" || text == "infinity") return LimitSpec::kUnlimited;
    std::uint64_t multiplier = 1;
    if (isSize && !text.empty()) {
        constexpr std::string_view kSuffixes = "KMGT";
        auto suffix = kSuffixes.find(static_cast<char>(std::toupper(static_cast<unsigned char>(text.back()))));
        if (suffix != std::string_view::npos) {
            multiplier = std::uint64_t{1} << (10 * (suffix + 1));
            text.remove_suffix(1);
        }
    }
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    // The largest finite limit: anything at or beyond RLIM_INFINITY would silently mean "unlimited".
    if (n > (LimitSpec::kUnlimited - 1) / multiplier) return std::nullopt;
    return n * multiplier;
}

std::string formatNumber(rlim_t n) { return n == RLIM_INFINITY ? "unlimited" : std::to_string(n); }

const Resource* findResource(std::string_view key) {
    for (const auto& r : kResources)
        if (key == r.key) return &r;
    return nullptr;
}

}  // namespace

std::optional<LimitSpec> parseLimit(std::string_view text, bool isSize) {
    if (text.empty()) return LimitSpec{};
    if (text == "hard") return LimitSpec{LimitSpec::Kind::SoftToHard};
    auto colon = text.find(':');
    auto soft = parseNumber(text.substr(0, colon), isSize);
    auto hard = colon == std::string_view::npos ? soft : parseNumber(text.substr(colon + 1), isSize);
    if (!soft || !hard || *soft > *hard) return std::nullopt;
    return LimitSpec{LimitSpec::Kind::Set, *soft, *hard};
}

std::string checkLimit(const std::string& key, const std::string& value) {
    const Resource* r = findResource(key);
    if (r == nullptr) return "unknown limit '" + key + "'";
    auto spec = parseLimit(value, r->isSize);
    if (!spec)
        return key + " = '" + value + "' is not a limit (a number or 'unlimited', SOFT:HARD with soft <= hard, " +
               "or 'hard' to raise the soft limit to the hard one" + (r->isSize ? "; sizes may end in K, M, G or T)" : ")");
    // The kernel caps open files at fs.nr_open; "unlimited" would fail at every start.
    if (r->resource == RLIMIT_NOFILE && spec->kind == LimitSpec::Kind::Set && spec->hard == LimitSpec::kUnlimited)
        return key + " = '" + value + "': open files cannot be unlimited (the kernel caps them at fs.nr_open)";
    return {};
}

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
