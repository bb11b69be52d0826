#pragma once

#include "ElfFile.h"
#include "PluginThreads.h"
#include "UniqueFd.h"

#include <hostd/plugin.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace hostd {

/// Owns a dlopen handle. dlclose on destruction; see PluginImage::unload for verification.
class DlHandle {
public:
    DlHandle() noexcept = default;
    explicit DlHandle(void* handle) noexcept : _handle(handle) {}
    DlHandle(DlHandle&& other) noexcept : _handle(other._handle) { other._handle = nullptr; }
    DlHandle& operator=(DlHandle&& other) noexcept;
    DlHandle(const DlHandle&) = delete;
    DlHandle& operator=(const DlHandle&) = delete;
    ~DlHandle() { close(); }

    void* get() const noexcept { return _handle; }
    void close() noexcept;
        /// dlclose if open.
    void leak() noexcept { _handle = nullptr; }
        /// Never dlclose it: code of it may still run.

private:
    void* _handle = nullptr;
};

/// The file changed while it was being read (a writer is still at work); a later
/// IN_CLOSE_WRITE or IN_MOVED_TO brings the final content.
class FileBusy : public LoadError {
public:
    using LoadError::LoadError;
};

/// Options that decide whether a plugin file is trusted.
struct TrustPolicy {
    bool allowSymlinks = false;
    std::string pinnedSha256;  ///< [plugin.NAME] sha256: the only whole file accepted, if set.
};

/// What the dynamic loader will map of a plugin file, in a private memfd (DESIGN.md section 3),
/// read once while hashing, after the trust checks on the very fd that was read. The memfd is
/// the file's size, but only the headers and segments are copied (ElfFile::mappedRanges): the
/// rest, debug info and symbol tables, is a hole that costs nothing.
struct PluginFile {
    std::string name;  ///< Plugin name (the file stem).
    UniqueFd memfd;
    std::string content;      ///< Identity: ContentHash of the copied ranges and where they lie.
    std::string sha256;       ///< The whole file's (as sha256sum prints it), only when pinned.
    std::uint64_t size = 0;      ///< The file's.
    std::uint64_t loadable = 0;  ///< ElfFile::loadableSize.
    std::uint64_t copied = 0;    ///< Bytes in the memfd.

    static PluginFile read(int dirFd, const std::string& fileName, const TrustPolicy& policy);
        /// Opens fileName relative to dirFd (never following a symlink unless allowed), checks
        /// owner, mode and type on the opened fd, checks the ELF headers, copies what is mapped
        /// into a memfd while hashing it, and, if the policy pins one, checks the whole file's
        /// sha256. Throws LoadError, or FileBusy if the file changed while it was read.
};

std::string untrustedFileReason(int dirFd, const std::string& fileName, const TrustPolicy& policy);
    /// Why PluginFile::read would refuse fileName for its type, owner or mode ("refused: ..."),
    /// or could not open it ("cannot open: Permission denied"), or empty if neither (or the file
    /// is gone). Reads no content.

/// A plugin image loaded from a private in-memory copy of its file (DESIGN.md section 3):
/// the operator's file can be overwritten, truncated or removed at any time afterwards.
class PluginImage {
public:
    static std::unique_ptr<PluginImage> open(PluginFile file);
        /// dlopens the private copy, resolves the entry symbol and checks the ABI version.
        /// Throws LoadError.

    static std::unique_ptr<PluginImage> load(int dirFd, const std::string& fileName, const TrustPolicy& policy) {
        return open(PluginFile::read(dirFd, fileName, policy));
    }

    ~PluginImage();

    const hostd_type_descriptor& descriptor() const noexcept { return _descriptor; }
        /// hostd's copy of the plugin's descriptor, made at load: what the plugin does to its
        /// own afterwards (a NULL stop, new requires) changes nothing.
    const std::string& content() const noexcept { return _content; }
        /// PluginFile::content: what tells one build from another.
    const std::string& pinnedSha256() const noexcept { return _pinnedSha256; }
        /// The whole file's sha256, if a pin made hostd compute it; else empty.
    std::uint64_t size() const noexcept { return _size; }
    std::uint64_t copiedBytes() const noexcept { return _copied; }
        /// Memory the private copy holds.
    const std::string& version() const noexcept { return _version; }
    const std::string& description() const noexcept { return _description; }
    const std::vector<std::string>& dependencies() const noexcept { return _dependencies; }
    std::chrono::steady_clock::duration loadDuration() const noexcept { return _loadDuration; }
    bool hasReload() const noexcept { return _descriptor.reload != nullptr; }

    int fd() const noexcept { return _memfd.get(); }
        /// The private copy (kept open while the image is loaded).

    bool unload() noexcept;
        /// dlcloses the image and verifies it is gone. Returns false if it is still mapped
        /// (then its memfd is kept open forever so the name is never reused, DESIGN.md 3):
        /// dlclose did not unmap it, or hostd did not even try since a thread of the plugin's,
        /// or a destructor of one of its keys, still runs (heldBy()).
    const PluginThreads::Holds& heldBy() const noexcept { return _heldBy; }
        /// What kept unload() from unmapping the image, if that is why it stayed.

private:
    PluginImage() = default;
    void registerRange(void* symbol);
        /// Tells CrashGuard the address range of this image (the object holding symbol), under
        /// its crash label.

    UniqueFd _memfd;
    std::string _procPath;  // "/proc/self/fd/N" of the memfd: the name glibc knows the image by
    std::string _crashLabel;  // "NAME@CONTENT", as in crash breadcrumbs
    std::uintptr_t _rangeBegin = 0;  // registered with CrashGuard while loaded
    DlHandle _handle;
    PluginThreads::Holds _heldBy;
    hostd_type_descriptor _descriptor{};
    std::string _content;
    std::string _pinnedSha256;
    std::uint64_t _size = 0;
    std::uint64_t _copied = 0;
    std::string _version;
    std::string _description;
    std::vector<std::string> _dependencies;
    std::chrono::steady_clock::duration _loadDuration{};
};

}  // namespace hostd
