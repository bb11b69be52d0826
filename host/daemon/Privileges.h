#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "TrustedPath.h"

namespace hostd {

class ConfigSnapshot;
struct HostSettings;

/// Least privilege with libcap (DESIGN.md section 5), from the [hostd] keys user, group and
/// capabilities.
///
/// Started as root with any of them set: shrink the bounding set to the configured
/// capabilities, set the group and the supplementary groups (the user's, from the group
/// database), switch to the user (real, effective and saved ids), keep only the configured
/// capabilities in permitted and effective (none inheritable or ambient), set NO_NEW_PRIVS.
/// Started as root with none of them: nothing changes, and a warning says so.
/// Not started as root: drop every capability that is not configured (and inheritable and
/// ambient ones), set NO_NEW_PRIVS, and warn about user/group, which need root.
///
/// Capability bounding sets, ids and NO_NEW_PRIVS are per thread in Linux: this must run
/// before any thread exists, so that every thread (the host's, and those plugins start)
/// inherits the result. dropPrivileges() refuses to run otherwise.

/// Isolated plugins (isolation = process): a runner can only be given what hostd holds. The
/// capabilities their confinement needs (cap_setuid and cap_setgid for a user or group, each
/// of their capabilities) are kept besides the configured ones, permitted but not effective,
/// and passed to runners as inheritable and ambient capabilities, which also reach what any
/// plugin in hostd's process executes.

/// A capability isolated plugins need of hostd, and which plugin's key needs it.
struct RunnerNeed {
    std::string capability;  ///< As libcap names it.
    std::string why;         ///< "user of plugin.echo".
};

std::vector<RunnerNeed> runnerNeeds(const ConfigSnapshot& config);
    /// What the configuration's isolated plugins need of hostd's capabilities (--check-config
    /// lists it).

void dropPrivileges(const ConfigSnapshot& config);
    /// Applies the rules above. Throws StartupError: kExitConfig if the user or group does
    /// not exist, kExitOsError if a step fails, kExitSoftware if threads already exist.

void logIdentity();
    /// Logs, once per call, the uid, gid, supplementary groups, effective capabilities and
    /// NO_NEW_PRIVS of the process.

TrustedOwners hostdOwners(const HostSettings& host);
    /// Root, the effective uid, and the configured user (once it resolves): who may own what
    /// hostd writes as root and keeps using after the privilege drop (pidfile, log file,
    /// control socket directory) or reads for its user (the metrics token). What decides what
    /// root does (the configuration) is trusted only from root or the effective uid.

std::string checkAccountExists(const std::string& key, const std::string& value);
    /// For --check-config: an empty string if value is empty, a numeric id, or a user
    /// (key "user") or group (key "group") of the system's databases, else the message.

}  // namespace hostd
