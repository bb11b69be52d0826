#include "PluginImage.h"

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

/// The file's ELF header, once it is one hostd can load. Throws LoadError.
Elf64_Ehdr checkElfHeader(const unsigned char* data, std::size_t len, std::uint64_t fileSize) {
    if (fileSize == 0) throw LoadError("empty file (0 bytes)");
    if (len < SELFMAG || std::memcmp(data, ELFMAG, SELFMAG) != 0) throw LoadError("not an ELF file");
    if (len < sizeof(Elf64_Ehdr)) throw LoadError("truncated ELF file (" + std::to_string(fileSize) + " bytes)");
    Elf64_Ehdr header;  // copied: data has no alignment to speak of
    std::memcpy(&header, data, sizeof header);
    const Elf64_Ehdr* eh = &header;
    if (eh->e_ident[EI_CLASS] != ELFCLASS64) throw LoadError("wrong ELF class (not a 64-bit object)");
#if defined(__x86_64__)
    constexpr unsigned kMachine = EM_X86_64;
#elif defined(__aarch64__)
    constexpr unsigned kMachine = EM_AARCH64;
#else
    constexpr unsigned kMachine = 0;
#endif
    if (kMachine != 0 && eh->e_machine != kMachine)
        throw LoadError("wrong architecture (ELF machine " + std::to_string(eh->e_machine) + ", this host is " +
                        std::to_string(kMachine) + ")");
    if (eh->e_type != ET_DYN) throw LoadError("not a shared object (ELF type " + std::to_string(eh->e_type) + ")");
    return header;
}

/// The ELF behind fd (size bytes, header eh already checked) holds everything its headers say it
/// does: a file cut short (a partial write seen at a quiet moment, `head -c`) would otherwise be
/// mapped by dlopen past its end, and the first touch of that page is a SIGBUS of hostd. Every
/// offset comes from the untrusted file and is checked against its size before use.
void checkElfLayout(int fd, std::uint64_t size, const Elf64_Ehdr& eh) {
    auto truncated = [&](std::uint64_t needs) {
        return LoadError("truncated ELF file (" + std::to_string(size) + " bytes, its headers need " +
                         std::to_string(needs) + ")");
    };
    auto end = [](std::uint64_t offset, std::uint64_t count, std::uint64_t each) -> std::uint64_t {
        std::uint64_t bytes = 0, last = 0;
        if (count == 0) return 0;
        if (__builtin_mul_overflow(count, each, &bytes) || __builtin_add_overflow(offset, bytes, &last)) return UINT64_MAX;
        return last;
    };
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum >= PN_XNUM)
        throw LoadError("malformed ELF program headers (" + std::to_string(eh.e_phnum) + " of " +
                        std::to_string(eh.e_phentsize) + " bytes)");
    std::uint64_t needs = std::max(end(eh.e_phoff, eh.e_phnum, sizeof(Elf64_Phdr)),
                                   eh.e_shoff == 0 ? 0 : end(eh.e_shoff, eh.e_shnum, eh.e_shentsize));
    if (needs > size) throw truncated(needs);
    std::vector<Elf64_Phdr> ph(eh.e_phnum);
    std::size_t bytes = ph.size() * sizeof(Elf64_Phdr);
    if (::pread(fd, ph.data(), bytes, static_cast<off_t>(eh.e_phoff)) != static_cast<ssize_t>(bytes))
        throw LoadError("cannot read the ELF program headers back");
    for (const auto& h : ph)
        if (h.p_type == PT_LOAD) needs = std::max(needs, h.p_filesz == 0 ? 0 : end(h.p_offset, 1, h.p_filesz));
    if (needs > size) throw truncated(needs);
}

/// The bytes of a file being copied: kept for the ELF header check, written to the memfd.
struct CopySink {
    int mem;
    unsigned char head[sizeof(Elf64_Ehdr)];
    std::size_t headLen = 0;

    void put(const unsigned char* data, std::size_t n) {
        std::size_t take = std::min(sizeof head - headLen, n);
        std::memcpy(head + headLen, data, take);
        headLen += take;
        for (std::size_t off = 0; off < n;) {
            ssize_t w = ::write(mem, data + off, n - off);
            if (w < 0) {
                if (errno == EINTR) continue;
                throw LoadError("copy to memfd failed: " + errnoText(errno));
            }
            off += static_cast<std::size_t>(w);
        }
    }
};

/// Reads up to len bytes of src into buf: the count, 0 at its end. Throws LoadError.
std::size_t readSome(int src, unsigned char* buf, std::size_t len) {
    for (;;) {
        ssize_t n = ::read(src, buf, len);
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno != EINTR) throw LoadError("read failed: " + errnoText(errno));
    }
}

/// Copies the expected bytes of src into a new memfd while hashing them; checks the ELF header
/// on the way. Stops at expected (the caller compares the file's size and time before and after:
/// a file that grew or shrank meanwhile is busy), so a complete file costs no read of its EOF.
UniqueFd copyToMemfd(int src, const std::string& name, std::uint64_t expected, std::uint64_t& size, std::string& sha256) {
    UniqueFd mem(::memfd_create(("hostd:" + name).c_str(), MFD_CLOEXEC));
    if (!mem) throw LoadError("memfd_create failed: " + errnoText(errno));
    CopySink sink{mem.get(), {}};
    Sha256 digest;
    // On the stack, not the heap: a fresh 64 KiB heap buffer per file was zeroed and, after the
    // heap had been trimmed, faulted in page by page: three times the cost of the copy itself.
    unsigned char buf[1 << 16];
    size = 0;
    while (size < expected) {
        std::size_t n = readSome(src, buf, std::min<std::uint64_t>(sizeof buf, expected - size));
        if (n == 0) break;
        digest.update(buf, n);
        sink.put(buf, n);
        size += n;
    }
    sha256 = digest.finishHex();
    checkElfLayout(mem.get(), size, checkElfHeader(sink.head, sink.headLen, size));
    return mem;
}

std::string abiText(std::uint32_t major, std::uint32_t minor) {
    return std::to_string(major) + "." + std::to_string(minor);
}

void checkDescriptor(const hostd_type_descriptor* d) {
    if (d == nullptr) throw LoadError(std::string(HOSTD_ENTRY_SYMBOL) + " returned no descriptor");
    const std::string host = abiText(HOSTD_ABI_MAJOR, HOSTD_ABI_MINOR);
    if (d->abi_major != HOSTD_ABI_MAJOR)
        throw LoadError("plugin ABI " + abiText(d->abi_major, d->abi_minor) + " is not supported by this hostd (ABI " +
                        host + "): the major version differs; rebuild the plugin against this hostd's SDK");
    if (d->abi_minor > HOSTD_ABI_MINOR)
        throw LoadError("plugin ABI " + abiText(d->abi_major, d->abi_minor) + " is newer than this hostd (ABI " + host +
                        "); upgrade hostd or build the plugin against SDK " + host);
    if (d->size < offsetof(hostd_type_descriptor, reload) + sizeof(d->reload))
        throw LoadError("descriptor too small (" + std::to_string(d->size) + " bytes) for ABI " +
                        abiText(d->abi_major, d->abi_minor));
    if (d->start == nullptr || d->stop == nullptr) throw LoadError("descriptor lacks a start or stop callback");
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
    try {
        file.memfd = copyToMemfd(src.get(), fileName, static_cast<std::uint64_t>(before.st_size), file.size, file.sha256);
    } catch (const LoadError&) {
        if (changed()) throw FileBusy("file changed while it was read");
        throw;
    }
    if (changed() || static_cast<std::uint64_t>(before.st_size) != file.size) throw FileBusy("file changed while it was read");
    if (!policy.pinnedSha256.empty() && policy.pinnedSha256 != file.sha256)
        throw LoadError("refused: sha256 " + file.sha256 + " does not match the pinned sha256 " + policy.pinnedSha256);
    return file;
}

std::unique_ptr<PluginImage> PluginImage::open(PluginFile file) {
    auto began = std::chrono::steady_clock::now();
    std::unique_ptr<PluginImage> image(new PluginImage);
    image->_memfd = std::move(file.memfd);
    image->_sha256 = std::move(file.sha256);
    image->_size = file.size;
    image->_procPath = "/proc/self/fd/" + std::to_string(image->_memfd.get());
    image->_crashLabel = file.name + "@" + image->_sha256;

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
    checkDescriptor(d);
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

std::vector<std::string> uniqueSymbols(int fd) {
    // The file is untrusted: every offset is checked against its size before use.
    std::vector<std::string> out;
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(Elf64_Ehdr))) return out;
    std::size_t size = static_cast<std::size_t>(st.st_size);
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) return out;
    const auto* base = static_cast<const unsigned char*>(map);
    auto fits = [&](std::uint64_t off, std::uint64_t len) { return off <= size && len <= size - off; };
    const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(base);
    if (std::memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
        eh->e_shentsize == sizeof(Elf64_Shdr) && fits(eh->e_shoff, std::uint64_t(eh->e_shnum) * sizeof(Elf64_Shdr))) {
        const auto* sh = reinterpret_cast<const Elf64_Shdr*>(base + eh->e_shoff);
        for (unsigned i = 0; i < eh->e_shnum; ++i) {
            if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= eh->e_shnum) continue;
            const Elf64_Shdr& strtab = sh[sh[i].sh_link];
            if (!fits(sh[i].sh_offset, sh[i].sh_size) || !fits(strtab.sh_offset, strtab.sh_size)) continue;
            const auto* syms = reinterpret_cast<const Elf64_Sym*>(base + sh[i].sh_offset);
            for (std::size_t k = 0; k < sh[i].sh_size / sizeof(Elf64_Sym); ++k) {
                if (ELF64_ST_BIND(syms[k].st_info) != STB_GNU_UNIQUE || syms[k].st_name >= strtab.sh_size) continue;
                const char* name = reinterpret_cast<const char*>(base + strtab.sh_offset + syms[k].st_name);
                out.emplace_back(name, ::strnlen(name, strtab.sh_size - syms[k].st_name));
            }
        }
    }
    ::munmap(map, size);
    return out;
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
