#include "ConfigRules.h"

#include "Config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>
#include <sys/capability.h>
#include <sys/un.h>

namespace hostd {

namespace {

/// Frees a string libcap allocated.
struct CapFree {
    void operator()(void* p) const noexcept { cap_free(p); }
};

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

struct LimitKey {
    const char* key;
    bool isSize;
};

constexpr LimitKey kLimitKeys[] = {{"rlimit_nofile", false}, {"rlimit_core", true}, {"rlimit_fsize", true},
                                   {"rlimit_as", true},      {"rlimit_nproc", false}};

constexpr std::size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;

}  // namespace

std::optional<unsigned> parseNumericId(const std::string& text) {
    unsigned n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return n;
}

std::string checkAccountName(const std::string& key, const std::string& value) {
    // What adduser and useradd accept: [A-Za-z_][A-Za-z0-9_.-]*, with a trailing $ for
    // machine accounts. A number is taken as an id.
    auto nameChar = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'; };
    std::string_view body = value;
    if (!body.empty() && body.back() == '$') body.remove_suffix(1);
    bool isName = !body.empty() && (std::isalpha(static_cast<unsigned char>(body.front())) || body.front() == '_') &&
                  std::all_of(body.begin(), body.end(), nameChar);
    bool valid = value.empty() || (value.size() <= 32 && (isName || parseNumericId(value)));  // empty: keep the starting one
    return valid ? std::string() : key + " = '" + value + "' is not a " + key + " name or numeric id";
}

std::string parseCapabilities(std::string_view text, std::vector<std::string>& out) {
    std::vector<std::string> names;
    for (const auto& item : splitList(text)) {
        if (item == "none") continue;
        cap_value_t c = 0;
        // cap_from_name also takes bare numbers; only names are readable in a configuration.
        bool named = item.size() > 4 && std::equal(item.begin(), item.begin() + 4, "cap_", [](char a, char b) {
                         return std::tolower(static_cast<unsigned char>(a)) == b;
                     });
        if (!named || cap_from_name(item.c_str(), &c) != 0)
            return "capabilities: unknown capability '" + item + "' (names as in capabilities(7), e.g. cap_net_bind_service)";
        std::unique_ptr<char, CapFree> name(cap_to_name(c));
        if (std::find(names.begin(), names.end(), name.get()) == names.end()) names.emplace_back(name.get());
    }
    out = std::move(names);
    return {};
}

std::string joinCapabilities(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out.empty() ? "none" : out;
}

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
    const LimitKey* r = nullptr;
    for (const auto& k : kLimitKeys)
        if (key == k.key) r = &k;
    if (r == nullptr) return "unknown limit '" + key + "'";
    auto spec = parseLimit(value, r->isSize);
    if (!spec)
        return key + " = '" + value + "' is not a limit (a number or 'unlimited', SOFT:HARD with soft <= hard, " +
               "or 'hard' to raise the soft limit to the hard one" + (r->isSize ? "; sizes may end in K, M, G or T)" : ")");
    // The kernel caps open files at fs.nr_open; "unlimited" would fail at every start.
    if (key == "rlimit_nofile" && spec->kind == LimitSpec::Kind::Set && spec->hard == LimitSpec::kUnlimited)
        return key + " = '" + value + "': open files cannot be unlimited (the kernel caps them at fs.nr_open)";
    return {};
}

bool isConfinementKey(const std::string& key) {
    return key == "user" || key == "group" || key == "capabilities" || key == "rlimit_nofile" || key == "rlimit_as" ||
           key == "rlimit_nproc" || key == "rlimit_core" || key == "seccomp" || key == "seccomp_allow";
}

std::string applyConfinementKey(const std::string& key, const std::string& value, Confinement& out) {
    if (key == "user" || key == "group") {
        if (auto bad = checkAccountName(key, value); !bad.empty()) return bad;
        (key == "user" ? out.user : out.group) = value;
    } else if (key == "capabilities") {
        std::vector<std::string> caps;
        if (auto bad = parseCapabilities(value, caps); !bad.empty()) return bad;
        out.capabilities = std::move(caps);
    } else if (key.starts_with("rlimit_")) {
        if (auto bad = checkLimit(key, value); !bad.empty()) return bad;
        if (auto spec = parseLimit(value, key == "rlimit_as" || key == "rlimit_core"); spec && spec->kind == LimitSpec::Kind::SoftToHard)
            return key + " = 'hard' is for [hostd]; give a runner its limit as N or SOFT:HARD";
        std::erase_if(out.rlimits, [&](const auto& r) { return r.first == key; });
        out.rlimits.emplace_back(key, value);
    } else if (key == "seccomp") {
        if (value != "default" && value != "strict" && value != "off")
            return "seccomp = '" + value + "' is not one of default, strict, off";
        out.seccomp = value;
    } else if (key == "seccomp_allow") {
        out.seccompAllow.clear();
        for (auto& name : splitList(value)) {
            bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
                return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
            });
            if (!valid) return "seccomp_allow: '" + name + "' is not a system call name";
            out.seccompAllow.push_back(name);
        }
    }
    return {};
}

std::string checkSocketPath(const std::string& key, const std::string& value) {
    if (value.empty()) return {};
    if (value.front() != '/') return key + " = '" + value + "' must be an absolute path (or empty for no socket)";
    if (value.back() == '/') return key + " = '" + value + "' names a directory, not a socket file";
    if (value.size() > kMaxSocketPath)
        return key + " = '" + value + "' is longer than " + std::to_string(kMaxSocketPath) + " bytes (the unix socket limit)";
    return {};
}

}  // namespace hostd
