#include "PluginImage.h"

#include "ContentHash.h"
#include "DescriptorCheck.h"
#include "CrashGuard.h"
#include "Sha256.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dlfcn.h>
#include <link.h>
#include <utility>
#include <vector>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hostd {

namespace {

std::string octalMode(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

std::string errnoText(int err) { return std::strerror(err); }

constexpr const char* kSymlinkRefused = "refused: is a symbolic link (set allow_symlinks = true in [hostd] to allow)";

std::string fileKind(mode_t mode) {
    switch (mode & S_IFMT) {
    case S_IFDIR: return "a directory";
    case S_IFIFO: return "a FIFO";
    case S_IFSOCK: return "a socket";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    default: return "mode " + octalMode(mode);
    }
}

/// Which trust rule on what an opened file is (type, owner, mode) it breaks, or empty.
std::string trustViolation(const struct stat& st) {
    if (!S_ISREG(st.st_mode)) return "refused: not a regular file but " + fileKind(st.st_mode);
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
        return "refused: owned by uid " + std::to_string(st.st_uid) + ", must be owned by root or uid " +
               std::to_string(::geteuid());
    if (st.st_mode & (S_IWGRP | S_IWOTH)) return "refused: group- or world-writable (mode " + octalMode(st.st_mode) + ")";
    return {};
}

UniqueFd openTrusted(int dirFd, const std::string& fileName, const TrustPolicy& policy, struct stat& st) {
    int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    if (!policy.allowSymlinks) flags |= O_NOFOLLOW;
    UniqueFd fd(::openat(dirFd, fileName.c_str(), flags));
    if (!fd) {
        int err = errno;
        if (err == ELOOP) throw LoadError(kSymlinkRefused);
        throw LoadError("cannot open: " + errnoText(err));
    }
    if (::fstat(fd.get(), &st) != 0) throw LoadError("cannot stat: " + errnoText(errno));
    if (std::string why = trustViolation(st); !why.empty()) throw LoadError(why);
    return fd;
}

std::uint64_t pageSize() {
    static const std::uint64_t size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    return size;
}

/// Reads up to len bytes of src at offset into buf: the count, 0 past its end. Throws LoadError.
std::size_t readAt(int src, unsigned char* buf, std::size_t len, std::uint64_t offset) {
    for (;;) {
        ssize_t n = ::pread(src, buf, len, static_cast<off_t>(offset));
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno != EINTR) throw LoadError("read failed: " + errnoText(errno));
    }
}

void writeAt(int dst, const unsigned char* data, std::size_t len, std::uint64_t offset) {
    for (std::size_t done = 0; done < len;) {
        ssize_t n = ::pwrite(dst, data + done, len - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw LoadError("copy to memfd failed: " + errnoText(errno));
        done += static_cast<std::size_t>(n);
    }
}

/// Calls each(bytes, count) on [offset, offset + length) of src in chunks. Throws LoadError if the
/// file ends first (it shrank: the caller's check calls it busy).
template <class Each>
void readRange(int src, std::uint64_t offset, std::uint64_t length, Each&& each) {
    // On the stack, not the heap: a fresh 64 KiB heap buffer per file was zeroed and, after the
    // heap had been trimmed, faulted in page by page: three times the cost of the copy itself.
    unsigned char buf[1 << 16];
    for (std::uint64_t done = 0; done < length;) {
        std::size_t n = readAt(src, buf, std::min<std::uint64_t>(sizeof buf, length - done), offset + done);
        if (n == 0) throw LoadError("truncated ELF file (ends at " + std::to_string(offset + done) + " bytes)");
        each(buf, n, offset + done);
        done += n;
    }
}

/// Copies what dlopen will read of src (size bytes) to the same offsets of a new sparse memfd,
/// hashing it (file.content). The headers the ranges came from are read again from the copy,
/// since dlopen reads the copy: a file rewritten meanwhile is busy, never mapped half old.
UniqueFd copyMapped(int src, const std::string& fileName, std::uint64_t size, PluginFile& file) {
    unsigned char head[sizeof(Elf64_Ehdr)];
    Elf64_Ehdr header = ElfFile::checkHeader(head, readAt(src, head, sizeof head, 0), size);
    std::vector<Elf64_Phdr> segments = ElfFile::checkLayout(src, size, header);
    UniqueFd mem(::memfd_create(("hostd:" + fileName).c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));  // ProcessStats.cpp finds it by this name
    if (!mem) throw LoadError("memfd_create failed: " + errnoText(errno));
    if (::ftruncate(mem.get(), static_cast<off_t>(size)) != 0) throw LoadError("memfd size: " + errnoText(errno));
    ContentHash content;
    file.copied = 0;
    for (const ElfFile::Range& r : ElfFile::mappedRanges(header, segments, size, pageSize())) {
        // Allocating the range's pages in one call first, rather than page by page as each write
        // reaches them, takes a sixth off the copy of a large plugin (8 MB: 4.7 -> 4.0 ms).
        if (::fallocate(mem.get(), 0, static_cast<off_t>(r.offset), static_cast<off_t>(r.length)) != 0 && errno != EOPNOTSUPP)
            throw LoadError("memfd allocation: " + errnoText(errno));
        content.update(r.offset);
        content.update(r.length);
        readRange(src, r.offset, r.length, [&](const unsigned char* data, std::size_t n, std::uint64_t at) {
            content.update(data, n);
            writeAt(mem.get(), data, n, at);
        });
        file.copied += r.length;
    }
    // Nothing changes the copy from here on, through any descriptor: not code in hostd, not an
    // isolated plugin's runner, which holds it as fd 4 (and could reopen it writable through
    // /proc): a runner started again after a crash loads exactly what was hashed.
    if (::fcntl(mem.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
        throw LoadError("memfd seals: " + errnoText(errno));
    unsigned char copiedHead[sizeof(Elf64_Ehdr)];
    if (readAt(mem.get(), copiedHead, sizeof copiedHead, 0) != sizeof copiedHead ||
        std::memcmp(copiedHead, head, sizeof head) != 0)
        throw FileBusy("file changed while it was read");
    std::vector<Elf64_Phdr> copiedSegments = ElfFile::checkLayout(mem.get(), size, header);
    if (std::memcmp(copiedSegments.data(), segments.data(), segments.size() * sizeof(Elf64_Phdr)) != 0)
        throw FileBusy("file changed while it was read");
    file.content = content.finishHex();
    file.loadable = ElfFile::loadableSize(segments);
    return mem;
}

/// The sha256 of all size bytes of src, as sha256sum prints it: for a pin only.
std::string wholeFileSha256(int src, std::uint64_t size) {
    Sha256 digest;
    readRange(src, 0, size, [&](const unsigned char* data, std::size_t n, std::uint64_t) { digest.update(data, n); });
    return digest.finishHex();
}

}  // namespace

DlHandle& DlHandle::operator=(DlHandle&& other) noexcept {
    if (this != &other) {
        close();
        _handle = other._handle;
        other._handle = nullptr;
    }
    return *this;
}

void DlHandle::close() noexcept {
    if (_handle != nullptr) ::dlclose(_handle);
    _handle = nullptr;
}

PluginFile PluginFile::read(int dirFd, const std::string& fileName, const TrustPolicy& policy) {
    struct stat before {};
    UniqueFd src = openTrusted(dirFd, fileName, policy, before);
    PluginFile file;
    file.name = fileName.ends_with(".so") ? fileName.substr(0, fileName.size() - 3) : fileName;
    // Changed while it was read (cp truncating it again, say): busy, whatever the bytes read were
    // (an empty or torn file is no error of the file's); its writer's close brings another look.
    auto changed = [&] {
        struct stat after {};
        return ::fstat(src.get(), &after) != 0 || after.st_size != before.st_size ||
               after.st_mtim.tv_sec != before.st_mtim.tv_sec || after.st_mtim.tv_nsec != before.st_mtim.tv_nsec ||
               after.st_ctim.tv_sec != before.st_ctim.tv_sec || after.st_ctim.tv_nsec != before.st_ctim.tv_nsec;
    };
    file.size = static_cast<std::uint64_t>(before.st_size);
    try {
        // A pinned file is hashed whole first: its pin is checked before any byte is mapped.
        if (!policy.pinnedSha256.empty()) file.sha256 = wholeFileSha256(src.get(), file.size);
        file.memfd = copyMapped(src.get(), fileName, file.size, file);
    } catch (const LoadError&) {
        if (changed()) throw FileBusy("file changed while it was read");
        throw;
    }
    if (changed()) throw FileBusy("file changed while it was read");
    if (!policy.pinnedSha256.empty() && policy.pinnedSha256 != file.sha256)
        throw LoadError("refused: sha256 " + file.sha256 + " does not match the pinned sha256 " + policy.pinnedSha256);
    return file;
}

std::unique_ptr<PluginImage> PluginImage::open(PluginFile file) {
    auto began = std::chrono::steady_clock::now();
    std::unique_ptr<PluginImage> image(new PluginImage);
    image->_memfd = std::move(file.memfd);
    image->_content = std::move(file.content);
    image->_pinnedSha256 = std::move(file.sha256);
    image->_size = file.size;
    image->_copied = file.copied;
    image->_procPath = "/proc/self/fd/" + std::to_string(image->_memfd.get());
    image->_crashLabel = file.name + "@" + image->_content;

    // The plugin's constructors run in dlopen, and its entry function is its code too.
    CrashGuard::ImageScope scope(image->_crashLabel.c_str(), "load");
    ::dlerror();
    void* handle = ::dlopen(image->_procPath.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* err = ::dlerror();
        std::string text = err != nullptr ? err : "unknown error";
        // dlerror names the memfd path, which means nothing to an operator.
        if (auto pos = text.find(image->_procPath + ": "); pos != std::string::npos)
            text.erase(pos, image->_procPath.size() + 2);
        throw LoadError("dlopen failed: " + text);
    }
    image->_handle = DlHandle(handle);
    void* sym = ::dlsym(handle, HOSTD_ENTRY_SYMBOL);
    if (sym == nullptr)
        throw LoadError(std::string("no symbol ") + HOSTD_ENTRY_SYMBOL + " (not a hostd plugin, or built without HOSTD_EXPORT)");
    auto entry = reinterpret_cast<hostd_type_entry_fn>(sym);
    const hostd_type_descriptor* d = entry();
    if (std::string problem = descriptorProblem(d); !problem.empty()) throw LoadError(problem);
    // A copy: the plugin's own may change while it runs (plugin.h forbids it; it happens).
    std::memcpy(&image->_descriptor, d, std::min<std::size_t>(d->size, sizeof image->_descriptor));
    image->_version = d->version != nullptr ? d->version : "";
    image->_description = d->description != nullptr ? d->description : "";
    if (d->requires_plugins != nullptr)
        for (const char* const* r = d->requires_plugins; *r != nullptr; ++r) image->_dependencies.emplace_back(*r);
    image->registerRange(sym);
    image->_loadDuration = std::chrono::steady_clock::now() - began;
    return image;
}

void PluginImage::registerRange(void* symbol) {
    // The object containing the entry symbol, found in glibc's sorted table (O(log n)): a walk of
    // every loaded object (dl_iterate_phdr) cost more than the rest of a load once hundreds ran.
    dl_find_object found{};
    if (::_dl_find_object(symbol, &found) != 0 || found.dlfo_link_map != static_cast<link_map*>(_handle.get()))
        return;  // the symbol came from another object the plugin links: no range of its own
    _rangeBegin = reinterpret_cast<std::uintptr_t>(found.dlfo_map_start);
    CrashGuard::registerImage(_crashLabel, _rangeBegin, reinterpret_cast<std::uintptr_t>(found.dlfo_map_end));
}

std::string untrustedFileReason(int dirFd, const std::string& fileName, const TrustPolicy& policy) {
    // O_PATH: the rules are on the inode, and its content is not to be read (nor its mode to be
    // readable by hostd). With O_NOFOLLOW, O_PATH opens a symbolic link itself.
    int flags = O_PATH | O_CLOEXEC;
    if (!policy.allowSymlinks) flags |= O_NOFOLLOW;
    UniqueFd fd(::openat(dirFd, fileName.c_str(), flags));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0) return {};  // gone: its own event says so
    if (S_ISLNK(st.st_mode)) return kSymlinkRefused;
    if (std::string why = trustViolation(st); !why.empty()) return why;
    // Trusted but unreadable (0600, hostd not root): its next version could not be read either.
    // The check of the effective uid on the O_PATH fd itself, so no name is looked up again.
    if (::faccessat(fd.get(), "", R_OK, AT_EACCESS | AT_EMPTY_PATH) != 0 && errno == EACCES)
        return "cannot open: " + errnoText(EACCES);
    return {};
}

bool PluginImage::unload() noexcept {
    if (_handle.get() == nullptr) return !_heldBy;
    if ((_heldBy = PluginThreads::retire(_crashLabel))) {
        // Mapped for good, and still known to crash attribution: its threads run its code.
        _handle.leak();
        (void)_memfd.release();
        return false;
    }
    if (_rangeBegin != 0) CrashGuard::unregisterImage(std::exchange(_rangeBegin, 0));
    {
        CrashGuard::ImageScope scope(_crashLabel.c_str(), "unload");  // its destructors run in dlclose
        _handle.close();
    }
    _descriptor = {};
    void* still = ::dlopen(_procPath.c_str(), RTLD_NOW | RTLD_NOLOAD);
    if (still == nullptr) {
        _memfd.reset();
        return true;
    }
    ::dlclose(still);  // drop the reference RTLD_NOLOAD just took
    PluginThreads::revive(_crashLabel);  // still mapped: its key destructors may run again
    (void)_memfd.release();  // keep the fd number forever: glibc would hand a new memfd the old image
    return false;
}

PluginImage::~PluginImage() { unload(); }

}  // namespace hostd
