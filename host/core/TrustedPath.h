#pragma once

#include "UniqueFd.h"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <sys/types.h>
#include <vector>

namespace hostd {

/// The uids that may own what hostd trusts or writes: root, and the user hostd runs as.
/// What hostd reads or writes as root (configuration, pidfile, control socket, log file) is
/// trusted only if owned by root or by the effective uid at that moment; so nothing hostd's
/// user can change decides what root does before the privilege drop.
class TrustedOwners {
public:
    static TrustedOwners current();
        /// Root and the effective uid of the process now.

    TrustedOwners& add(uid_t uid);
    bool contains(uid_t uid) const noexcept;
    const std::vector<uid_t>& uids() const noexcept { return _uids; }
    std::string describe() const;
        /// "root" or "root or uid 65534", for messages.

private:
    std::vector<uid_t> _uids{0};
};

/// A path that breaks the trust rules (README "Trust rules"): the message names the path and
/// the rule, e.g. "/srv/hostd: group- or world-writable (mode 0777)".
class PathRefused : public std::runtime_error {
public:
    PathRefused(std::string path, std::string rule)
        : std::runtime_error(path + ": " + rule), _path(std::move(path)), _rule(std::move(rule)) {}

    const std::string& path() const noexcept { return _path; }
        /// The path that breaks the rule: the object itself or one of its ancestors.
    const std::string& rule() const noexcept { return _rule; }

    std::string about(const std::string& object) const { return object == _path ? _rule : what(); }
        /// The rule if it is object's own, else "ANCESTOR: rule": for a message on object.

private:
    std::string _path, _rule;
};

/// The trust rules for every path hostd trusts or writes, applied to opened descriptors:
/// - the object itself is owned by a trusted uid, is not group- or world-writable, and is not
///   a symbolic link;
/// - so is every directory above it, except that an ancestor may be writable by others if it
///   has the sticky bit (like /tmp: nobody can remove or rename another user's entry there);
///   the directory the object is in may never be;
/// - a symbolic link among the ancestors (/lib -> usr/lib) is followed only if a trusted uid
///   owns it, and everything it leads to is checked the same way.
/// A file is opened relative to its checked directory's descriptor with O_NOFOLLOW, so nothing
/// can be swapped between the check and the open.
namespace TrustedPath {

std::string violation(const struct stat& st, const TrustedOwners& owners, bool stickyAncestor = false);
    /// Which rule st breaks (owner, group/world-writable), or empty.

UniqueFd openDirectory(const std::string& path, const TrustedOwners& owners);
    /// The directory at path (absolute), checked component by component from "/" as above,
    /// opened O_RDONLY | O_DIRECTORY. Throws PathRefused, or std::system_error (ENOENT if a
    /// component is missing) whose message names the path.

struct Split {
    std::string dir;
    std::string name;
};
Split split(const std::string& path);
    /// "/a/b/c" -> {"/a/b", "c"}; "/c" -> {"/", "c"}.

UniqueFd openFile(int dirFd, const std::string& path, int flags, const TrustedOwners& owners,
                  std::size_t maxBytes = 0);
    /// Opens the file named by the last component of path in dirFd (its checked directory),
    /// with O_NOFOLLOW | O_CLOEXEC | O_NOCTTY added to flags, and checks on the descriptor: a
    /// regular file, one link, a trusted owner, not group- or world-writable, at most maxBytes
    /// (if not 0). Throws PathRefused, or std::system_error (ENOENT if it does not exist).

UniqueFd openOrCreate(int dirFd, const std::string& path, int flags, mode_t mode, const TrustedOwners& owners,
                      bool& created);
    /// Creates the file named by the last component of path in dirFd (O_CREAT | O_EXCL |
    /// O_NOFOLLOW, then given exactly mode: hostd made it), or else opens the one there as
    /// openFile does, without changing its mode. flags: the access mode and O_APPEND, say.

std::string readFile(const std::string& path, const TrustedOwners& owners, std::size_t maxBytes);
    /// The whole content of path, opened as by openDirectory and openFile. Throws as they do.

std::string readFileAt(int dirFd, const std::string& path, const TrustedOwners& owners, std::size_t maxBytes);
    /// The same, with the file's directory already open and checked as dirFd.

std::string refusal(const std::string& path, const TrustedOwners& owners, bool directory);
    /// For --check-config: the rule path (a directory, or else a file) or a directory above it
    /// breaks, as "PATH: rule"; empty if none, or if something on the way does not exist.

void replaceFile(int dirFd, const std::string& name, std::string_view content, mode_t mode);
    /// Writes content to a new file under a random temporary name in dirFd (O_CREAT | O_EXCL |
    /// O_NOFOLLOW, so nothing that already exists is ever written through) and renames
    /// it over name. Throws std::system_error; the temporary file is removed on failure.

std::string temporaryName(const std::string& name);
    /// ".NAME.XXXXXXXXXXXXXXXX" with 16 random hex digits.

}  // namespace TrustedPath

}  // namespace hostd
