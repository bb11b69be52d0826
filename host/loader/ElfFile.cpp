#include "ElfFile.h"

#include <algorithm>
#include <cstring>
#include <unistd.h>

namespace hostd::ElfFile {

namespace {

/// offset + count * each, or UINT64_MAX on overflow (which is past any file).
std::uint64_t endOf(std::uint64_t offset, std::uint64_t count, std::uint64_t each) {
    std::uint64_t bytes = 0, last = 0;
    if (count == 0) return 0;
    if (__builtin_mul_overflow(count, each, &bytes) || __builtin_add_overflow(offset, bytes, &last)) return UINT64_MAX;
    return last;
}

bool readAt(int fd, void* buf, std::size_t len, std::uint64_t offset) {
    return ::pread(fd, buf, len, static_cast<off_t>(offset)) == static_cast<ssize_t>(len);
}

/// The file offset of virtual address vaddr, through the PT_LOAD holding it, if one does and
/// len bytes fit in its file bytes.
bool offsetOf(const std::vector<Elf64_Phdr>& segments, std::uint64_t vaddr, std::uint64_t len, std::uint64_t& offset) {
    for (const auto& s : segments)
        if (s.p_type == PT_LOAD && vaddr >= s.p_vaddr && vaddr - s.p_vaddr <= s.p_filesz &&
            len <= s.p_filesz - (vaddr - s.p_vaddr)) {
            offset = s.p_offset + (vaddr - s.p_vaddr);
            return true;
        }
    return false;
}

/// How many entries the dynamic symbol table has: from DT_HASH's chain count, or from the
/// highest symbol DT_GNU_HASH reaches (the table's size is not recorded anywhere else mapped).
std::uint64_t symbolCount(int fd, const std::vector<Elf64_Phdr>& segments, std::uint64_t hash, std::uint64_t gnuHash) {
    std::uint64_t at = 0;
    if (hash != 0 && offsetOf(segments, hash, 8, at)) {
        std::uint32_t words[2];
        return readAt(fd, words, sizeof words, at) ? words[1] : 0;
    }
    if (gnuHash == 0 || !offsetOf(segments, gnuHash, 16, at)) return 0;
    std::uint32_t head[4];  // nbuckets, symoffset, bloom_size, bloom_shift
    if (!readAt(fd, head, sizeof head, at) || head[0] == 0 || head[0] > (1u << 24) || head[2] > (1u << 24)) return 0;
    std::vector<std::uint32_t> buckets(head[0]);
    std::uint64_t bucketsAt = at + 16 + std::uint64_t(head[2]) * 8;
    if (!readAt(fd, buckets.data(), buckets.size() * 4, bucketsAt)) return 0;
    std::uint32_t last = *std::max_element(buckets.begin(), buckets.end());
    if (last < head[1]) return head[1];
    std::uint64_t chainsAt = bucketsAt + std::uint64_t(head[0]) * 4;
    for (std::uint64_t i = last; i < last + (1u << 20); ++i) {  // a chain ends with its low bit set
        std::uint32_t value = 0;
        if (!readAt(fd, &value, 4, chainsAt + (i - head[1]) * 4)) return 0;
        if (value & 1) return i + 1;
    }
    return 0;
}

}  // namespace

Elf64_Ehdr checkHeader(const unsigned char* data, std::size_t len, std::uint64_t fileSize) {
    if (fileSize == 0) throw LoadError("empty file (0 bytes)");
    if (len < SELFMAG || std::memcmp(data, ELFMAG, SELFMAG) != 0) throw LoadError("not an ELF file");
    if (len < sizeof(Elf64_Ehdr)) throw LoadError("truncated ELF file (" + std::to_string(fileSize) + " bytes)");
    Elf64_Ehdr header;  // copied: data has no alignment to speak of
    std::memcpy(&header, data, sizeof header);
    if (header.e_ident[EI_CLASS] != ELFCLASS64) throw LoadError("wrong ELF class (not a 64-bit object)");
#if defined(__x86_64__)
    constexpr unsigned kMachine = EM_X86_64;
#elif defined(__aarch64__)
    constexpr unsigned kMachine = EM_AARCH64;
#else
    constexpr unsigned kMachine = 0;
#endif
    if (kMachine != 0 && header.e_machine != kMachine)
        throw LoadError("wrong architecture (ELF machine " + std::to_string(header.e_machine) + ", this host is " +
                        std::to_string(kMachine) + ")");
    if (header.e_type != ET_DYN) throw LoadError("not a shared object (ELF type " + std::to_string(header.e_type) + ")");
    return header;
}

std::vector<Elf64_Phdr> checkLayout(int fd, std::uint64_t size, const Elf64_Ehdr& header) {
    auto truncated = [&](std::uint64_t needs) {
        return LoadError("truncated ELF file (" + std::to_string(size) + " bytes, its headers need " +
                         std::to_string(needs) + ")");
    };
    if (header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phnum == 0 || header.e_phnum >= PN_XNUM)
        throw LoadError("malformed ELF program headers (" + std::to_string(header.e_phnum) + " of " +
                        std::to_string(header.e_phentsize) + " bytes)");
    // The section headers are never read, but they are the file's last bytes: a file cut short
    // loses them first, and is refused before its loadable part is even looked at.
    std::uint64_t needs = std::max(endOf(header.e_phoff, header.e_phnum, sizeof(Elf64_Phdr)),
                                   header.e_shoff == 0 ? 0 : endOf(header.e_shoff, header.e_shnum, header.e_shentsize));
    if (needs > size) throw truncated(needs);
    std::vector<Elf64_Phdr> segments(header.e_phnum);
    if (!readAt(fd, segments.data(), segments.size() * sizeof(Elf64_Phdr), header.e_phoff))
        throw LoadError("cannot read the ELF program headers back");
    for (const auto& s : segments)
        if (s.p_type == PT_LOAD || s.p_type == PT_DYNAMIC)
            needs = std::max(needs, s.p_filesz == 0 ? 0 : endOf(s.p_offset, 1, s.p_filesz));
    if (needs > size) throw truncated(needs);
    return segments;
}

std::vector<Range> mappedRanges(const Elf64_Ehdr& header, const std::vector<Elf64_Phdr>& segments,
                                std::uint64_t fileSize, std::uint64_t pageSize) {
    std::vector<Range> ranges;
    auto add = [&](std::uint64_t begin, std::uint64_t end) {
        end = std::min(end, fileSize);
        if (begin < end) ranges.push_back({begin, end - begin});
    };
    add(0, std::max<std::uint64_t>(sizeof(Elf64_Ehdr), endOf(header.e_phoff, header.e_phnum, sizeof(Elf64_Phdr))));
    for (const auto& s : segments) {
        if (s.p_filesz == 0 || s.p_offset >= fileSize) continue;
        std::uint64_t end = endOf(s.p_offset, 1, s.p_filesz);
        if (s.p_type == PT_LOAD)  // mapped in whole pages: the bytes around it in them are visible too
            add(s.p_offset / pageSize * pageSize, end > UINT64_MAX - pageSize ? end : (end + pageSize - 1) / pageSize * pageSize);
        else
            add(s.p_offset, end);  // notes, the dynamic section: read by the loader, normally inside a PT_LOAD
    }
    std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.offset < b.offset; });
    std::vector<Range> merged;
    for (const Range& r : ranges) {
        if (!merged.empty() && r.offset <= merged.back().offset + merged.back().length)
            merged.back().length = std::max(merged.back().length, r.offset + r.length - merged.back().offset);
        else
            merged.push_back(r);
    }
    return merged;
}

std::uint64_t loadableSize(const std::vector<Elf64_Phdr>& segments) noexcept {
    std::uint64_t end = 0;
    for (const auto& s : segments)
        if (s.p_type == PT_LOAD) end = std::max(end, endOf(s.p_offset, 1, s.p_filesz));
    return end;
}

std::vector<std::string> uniqueSymbols(int fd) {
    std::vector<std::string> out;
    unsigned char head[sizeof(Elf64_Ehdr)];
    if (!readAt(fd, head, sizeof head, 0)) return out;
    Elf64_Ehdr header;
    std::memcpy(&header, head, sizeof header);
    if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64 ||
        header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phnum == 0 || header.e_phnum >= PN_XNUM)
        return out;
    std::vector<Elf64_Phdr> segments(header.e_phnum);
    if (!readAt(fd, segments.data(), segments.size() * sizeof(Elf64_Phdr), header.e_phoff)) return out;
    auto dynamic = std::find_if(segments.begin(), segments.end(), [](const Elf64_Phdr& s) { return s.p_type == PT_DYNAMIC; });
    if (dynamic == segments.end() || dynamic->p_filesz > (1u << 20)) return out;
    std::vector<Elf64_Dyn> entries(dynamic->p_filesz / sizeof(Elf64_Dyn));
    if (!readAt(fd, entries.data(), entries.size() * sizeof(Elf64_Dyn), dynamic->p_offset)) return out;
    std::uint64_t symtab = 0, strtab = 0, strsz = 0, hash = 0, gnuHash = 0;
    for (const auto& d : entries) {
        if (d.d_tag == DT_NULL) break;
        if (d.d_tag == DT_SYMTAB) symtab = d.d_un.d_ptr;
        if (d.d_tag == DT_STRTAB) strtab = d.d_un.d_ptr;
        if (d.d_tag == DT_STRSZ) strsz = d.d_un.d_val;
        if (d.d_tag == DT_HASH) hash = d.d_un.d_ptr;
        if (d.d_tag == DT_GNU_HASH) gnuHash = d.d_un.d_ptr;
    }
    std::uint64_t count = std::min<std::uint64_t>(symbolCount(fd, segments, hash, gnuHash), 1u << 20);
    std::uint64_t symbolsAt = 0, stringsAt = 0;
    if (count == 0 || strsz == 0 || strsz > (64u << 20) || !offsetOf(segments, symtab, count * sizeof(Elf64_Sym), symbolsAt) ||
        !offsetOf(segments, strtab, strsz, stringsAt))
        return out;
    std::vector<Elf64_Sym> symbols(count);
    std::string strings(strsz, '\0');
    if (!readAt(fd, symbols.data(), symbols.size() * sizeof(Elf64_Sym), symbolsAt) ||
        !readAt(fd, strings.data(), strings.size(), stringsAt))
        return out;
    for (const auto& s : symbols)
        if (ELF64_ST_BIND(s.st_info) == STB_GNU_UNIQUE && s.st_name < strsz)
            out.emplace_back(strings.c_str() + s.st_name, ::strnlen(strings.c_str() + s.st_name, strsz - s.st_name));
    return out;
}

}  // namespace hostd::ElfFile
