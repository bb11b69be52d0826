#pragma once

#include <elf.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace hostd {

/// Why a plugin file could not be loaded. The message names the rule and what was observed;
/// callers add the plugin name and path.
class LoadError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// What hostd reads of a plugin's ELF file: the headers, and what of the file the dynamic loader
/// maps (issue: lean loading): everything else (debug info, symbol tables, section headers) no
/// dlopen ever reads, so hostd neither copies nor hashes it. Every offset comes from an untrusted
/// file and is checked against its size before use.
namespace ElfFile {

Elf64_Ehdr checkHeader(const unsigned char* data, std::size_t len, std::uint64_t fileSize);
    /// The ELF header in data (the file's first len bytes, of fileSize), once it is one hostd can
    /// load: 64-bit, this machine, a shared object. Throws LoadError.

std::vector<Elf64_Phdr> checkLayout(int fd, std::uint64_t size, const Elf64_Ehdr& header);
    /// The program headers of the ELF behind fd (size bytes, header checked), once the file holds
    /// everything its headers say it does: a file cut short (a partial write seen at a quiet
    /// moment, `head -c`) would otherwise be mapped by dlopen past its end, and the first touch
    /// of that page is a SIGBUS of hostd. Throws LoadError.

struct Range {
    std::uint64_t offset;
    std::uint64_t length;
};
std::vector<Range> mappedRanges(const Elf64_Ehdr& header, const std::vector<Elf64_Phdr>& segments,
                                std::uint64_t fileSize, std::uint64_t pageSize);
    /// What dlopen reads of the file, in order, disjoint: the headers, and every segment's bytes
    /// (PT_LOAD ones in whole pages, as they are mapped), within fileSize.

std::uint64_t loadableSize(const std::vector<Elf64_Phdr>& segments) noexcept;
    /// The end of the last PT_LOAD's file bytes: what a plugin fundamentally costs to map.

std::vector<std::string> uniqueSymbols(int fd);
    /// Names of the STB_GNU_UNIQUE symbols in the ELF behind fd, read through its dynamic segment
    /// (what is mapped; section headers need not be there): they make an image impossible to
    /// unload. Empty for anything unparsable.

}  // namespace ElfFile

}  // namespace hostd
