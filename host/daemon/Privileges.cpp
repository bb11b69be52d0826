#include "Privileges.h"

#include "Config.h"
#include "ConfigRules.h"
#include "ExitCode.h"
#include "Log.h"
#include "StartupError.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <grp.h>
#include <memory>
#include <optional>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace hostd {

namespace {

/// Frees a libcap object (cap_t, cap_iab_t, strings) on scope exit.
struct CapFree {
    void operator()(void* p) const noexcept { cap_free(p); }
};
using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;
using IabPtr = std::unique_ptr<std::remove_pointer_t<cap_iab_t>, CapFree>;

[[noreturn]] void fail(std::string_view what) { throw StartupError(kExitOsError, systemErrorText(what, errno)); }

/// A user of the password database (or a bare numeric uid that has no entry).
struct Account {
    uid_t uid = 0;
    gid_t gid = 0;  ///< Primary group.
    std::string name;  ///< Empty for a numeric uid without an entry.
};

std::optional<Account> lookupUser(const std::string& nameOrId) {
    std::vector<char> buf(16384);
    passwd entry{}, *found = nullptr;
    auto id = parseNumericId(nameOrId);
    int rc = id ? ::getpwuid_r(*id, &entry, buf.data(), buf.size(), &found)
                : ::getpwnam_r(nameOrId.c_str(), &entry, buf.data(), buf.size(), &found);
    if (rc == 0 && found != nullptr) return Account{entry.pw_uid, entry.pw_gid, entry.pw_name};
    if (id) return Account{*id, *id, {}};  // a numeric uid need not be in the database
    return std::nullopt;
}

std::optional<gid_t> lookupGroup(const std::string& nameOrId) {
    if (auto id = parseNumericId(nameOrId)) return *id;
    std::vector<char> buf(16384);
    group entry{}, *found = nullptr;
    if (::getgrnam_r(nameOrId.c_str(), &entry, buf.data(), buf.size(), &found) == 0 && found != nullptr)
        return entry.gr_gid;
    return std::nullopt;
}

std::string userName(uid_t uid) {
    std::vector<char> buf(16384);
    passwd entry{}, *found = nullptr;
    std::string id = std::to_string(uid);
    return ::getpwuid_r(uid, &entry, buf.data(), buf.size(), &found) == 0 && found ? id + "(" + found->pw_name + ")" : id;
}

std::string groupName(gid_t gid) {
    std::vector<char> buf(16384);
    group entry{}, *found = nullptr;
    std::string id = std::to_string(gid);
    return ::getgrgid_r(gid, &entry, buf.data(), buf.size(), &found) == 0 && found ? id + "(" + found->gr_name + ")" : id;
}

std::string where(const ConfigSnapshot& config, const std::string& key) {
    auto o = config.hostOrigins.find(key);
    return o == config.hostOrigins.end() ? key : o->second.str() + ": " + key;
}

/// The configured capabilities that the process holds in its permitted set: a capability
/// can be kept or dropped, never gained.
std::vector<cap_value_t> keepable(const ConfigSnapshot& config) {
    CapPtr current(cap_get_proc());
    if (!current) fail("cap_get_proc");
    std::vector<cap_value_t> keep;
    for (const auto& name : config.host.capabilities) {
        cap_value_t c = 0;
        cap_flag_value_t held = CAP_CLEAR;
        if (cap_from_name(name.c_str(), &c) != 0) continue;  // validated with the configuration
        cap_get_flag(current.get(), c, CAP_PERMITTED, &held);
        if (held == CAP_SET)
            keep.push_back(c);
        else
            HOSTD_LOG(Warning, "", "configured capability is not held by the process; not kept",
                      {"capability", name}, {"config", where(config, "capabilities")});
    }
    return keep;
}

bool permitted(cap_value_t c) {
    CapPtr current(cap_get_proc());
    cap_flag_value_t held = CAP_CLEAR;
    return current && cap_get_flag(current.get(), c, CAP_PERMITTED, &held) == 0 && held == CAP_SET;
}

/// Clears the inheritable and ambient sets, and drops from the bounding set every capability
/// not in keep (if the process may: that needs CAP_SETPCAP).
void shrinkBoundingSet(const std::vector<cap_value_t>& keep) {
    IabPtr iab(cap_iab_init());  // empty inheritable and ambient vectors
    if (!iab) fail("cap_iab_init");
    if (permitted(CAP_SETPCAP))
        for (cap_value_t c = 0; c < cap_max_bits(); ++c)
            if (std::find(keep.begin(), keep.end(), c) == keep.end() &&
                cap_iab_set_vector(iab.get(), CAP_IAB_BOUND, c, CAP_SET) != 0)
                fail("cap_iab_set_vector");
    if (cap_iab_set_proc(iab.get()) != 0) fail("cap_iab_set_proc (bounding, inheritable and ambient sets)");
}

/// Sets permitted and effective to exactly keep; inheritable stays empty. forRunners are
/// permitted, inheritable and ambient, not effective: hostd does not use them, its runners do.
void keepOnly(const std::vector<cap_value_t>& keep, const std::vector<cap_value_t>& forRunners) {
    CapPtr caps(cap_init());
    if (!caps) fail("cap_init");
    if (!keep.empty() && (cap_set_flag(caps.get(), CAP_PERMITTED, static_cast<int>(keep.size()), keep.data(), CAP_SET) != 0 ||
                          cap_set_flag(caps.get(), CAP_EFFECTIVE, static_cast<int>(keep.size()), keep.data(), CAP_SET) != 0))
        fail("cap_set_flag");
    for (cap_value_t c : forRunners)
        if (cap_set_flag(caps.get(), CAP_PERMITTED, 1, &c, CAP_SET) != 0 || cap_set_flag(caps.get(), CAP_INHERITABLE, 1, &c, CAP_SET) != 0)
            fail("cap_set_flag");
    if (cap_set_proc(caps.get()) != 0) fail("cap_set_proc");
    if (cap_reset_ambient() != 0) fail("cap_reset_ambient");
    for (cap_value_t c : forRunners)
        if (cap_set_ambient(c, CAP_SET) != 0) fail("cap_set_ambient");
}

/// runnerNeeds() that the process holds, as values; a warning for each it does not.
std::vector<cap_value_t> keptForRunners(const ConfigSnapshot& config) {
    std::vector<cap_value_t> out;
    for (const auto& need : runnerNeeds(config)) {
        cap_value_t c = 0;
        if (cap_from_name(need.capability.c_str(), &c) != 0) continue;
        if (!permitted(c))
            HOSTD_LOG(Warning, "", "an isolated plugin needs a capability hostd does not hold; its runner cannot be confined so",
                      {"capability", need.capability}, {"for", need.why});
        else if (std::find(out.begin(), out.end(), c) == out.end())
            out.push_back(c);
    }
    return out;
}

/// Root only: sets the group and supplementary groups, then the user, as configured.
void switchIdentity(const ConfigSnapshot& config) {
    const HostSettings& h = config.host;
    std::optional<Account> user;
    if (!h.user.empty() && !(user = lookupUser(h.user)))
        throw StartupError(kExitConfig, where(config, "user") + " = '" + h.user + "': no such user");
    std::optional<gid_t> gid = user ? std::optional<gid_t>(user->gid) : std::nullopt;
    if (!h.group.empty() && !(gid = lookupGroup(h.group)))
        throw StartupError(kExitConfig, where(config, "group") + " = '" + h.group + "': no such group");
    if (gid) {
        std::vector<gid_t> groups{*gid};
        if (user && !user->name.empty()) {
            int count = 64;
            groups.resize(static_cast<std::size_t>(count));
            while (::getgrouplist(user->name.c_str(), *gid, groups.data(), &count) < 0)
                groups.resize(static_cast<std::size_t>(count));
            groups.resize(static_cast<std::size_t>(count));
        }
        // cap_setgroups raises CAP_SETGID only for the call; sets real, effective and saved gid.
        if (cap_setgroups(*gid, groups.size(), groups.data()) != 0) fail("cap_setgroups");
    }
    // cap_setuid keeps the permitted set across the change (PR_SET_KEEPCAPS for the call),
    // so the configured capabilities survive it; real, effective and saved uid all change.
    if (user && user->uid != 0 && cap_setuid(user->uid) != 0) fail("cap_setuid");
    uid_t r = 0, e = 0, s = 0;
    if (user && (::getresuid(&r, &e, &s) != 0 || r != user->uid || e != user->uid || s != user->uid))
        throw StartupError(kExitOsError, "the user switch did not take effect on every uid");
}

std::size_t threadCount() {
    std::error_code ec;
    std::size_t n = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec))
        ++n;
    return n;
}

}  // namespace

std::vector<RunnerNeed> runnerNeeds(const ConfigSnapshot& config) {
    std::vector<RunnerNeed> needs;
    for (const auto& [name, section] : config.plugins) {
        if (!config.isolated(name)) continue;
        const Confinement& c = section.confinement;
        std::string plugin = " of plugin." + name;
        if (!c.user.empty() || !c.group.empty()) {
            needs.push_back({"cap_setuid", (c.user.empty() ? "group" : "user") + plugin});
            needs.push_back({"cap_setgid", (c.user.empty() ? "group" : "user") + plugin});
        }
        if (c.capabilities)
            for (const auto& cap : *c.capabilities) needs.push_back({cap, "capabilities" + plugin});
    }
    return needs;
}

void dropPrivileges(const ConfigSnapshot& config) {
    const HostSettings& h = config.host;
    bool configured = !h.user.empty() || !h.group.empty() || config.hostOrigins.count("capabilities") > 0;
    bool root = ::geteuid() == 0;
    if (root && !configured) {
        HOSTD_LOG(Warning, "", "running as root with every capability; set user (and capabilities) in [hostd]");
        return;
    }
    if (std::size_t threads = threadCount(); threads > 1)
        throw StartupError(kExitSoftware, "cannot drop privileges: " + std::to_string(threads) +
                                              " threads exist, and capabilities and ids are per thread");
    std::vector<cap_value_t> keep = keepable(config);
    std::vector<cap_value_t> forRunners = keptForRunners(config);
    std::vector<cap_value_t> bounding = keep;
    bounding.insert(bounding.end(), forRunners.begin(), forRunners.end());
    shrinkBoundingSet(bounding);
    if (root)
        switchIdentity(config);
    else if (!h.user.empty() || !h.group.empty())
        HOSTD_LOG(Warning, "", "user and group are ignored: switching them needs starting as root",
                  {"user", h.user}, {"group", h.group});
    std::erase_if(forRunners, [&](cap_value_t c) { return std::find(keep.begin(), keep.end(), c) != keep.end(); });
    keepOnly(keep, forRunners);
    // A uid change clears the dumpable flag, so no core would ever be written; an explicit
    // rlimit_core asks for them.
    rlimit core{};
    if (config.hostOrigins.count("rlimit_core") && ::getrlimit(RLIMIT_CORE, &core) == 0 && core.rlim_cur > 0)
        ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    // Plugins may exec helpers: none of them may gain privileges through setuid bits or file
    // capabilities.
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("prctl(PR_SET_NO_NEW_PRIVS)");
}

void logIdentity() {
    std::vector<gid_t> groups(static_cast<std::size_t>(std::max(::getgroups(0, nullptr), 0)));
    groups.resize(static_cast<std::size_t>(std::max(::getgroups(static_cast<int>(groups.size()), groups.data()), 0)));
    std::string groupList;
    for (gid_t g : groups) groupList += (groupList.empty() ? "" : ",") + groupName(g);
    std::vector<std::string> effective;
    if (CapPtr caps{cap_get_proc()}) {
        for (cap_value_t c = 0; c < cap_max_bits(); ++c) {
            cap_flag_value_t v = CAP_CLEAR;
            if (cap_get_flag(caps.get(), c, CAP_EFFECTIVE, &v) == 0 && v == CAP_SET) {
                std::unique_ptr<char, CapFree> name(cap_to_name(c));
                effective.emplace_back(name ? name.get() : std::to_string(c));
            }
        }
    }
    HOSTD_LOG(Notice, "", "process identity", {"uid", userName(::geteuid())}, {"gid", groupName(::getegid())},
              {"groups", groupList.empty() ? "none" : groupList}, {"capabilities", joinCapabilities(effective)},
              {"no_new_privs", std::to_string(::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0))});
}

TrustedOwners hostdOwners(const HostSettings& host) {
    TrustedOwners owners = TrustedOwners::current();
    if (!host.user.empty())
        if (auto user = lookupUser(host.user)) owners.add(user->uid);
    return owners;
}

std::string checkAccountExists(const std::string& key, const std::string& value) {
    if (value.empty()) return {};
    bool found = key == "user" ? lookupUser(value).has_value() : lookupGroup(value).has_value();
    return found ? std::string() : key + " '" + value + "' does not exist on this system";
}

}  // namespace hostd
