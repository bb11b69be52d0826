#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace hostd::check {

/// The file is not an ELF object this tool can read (not ELF, truncated, malformed).
class ElfError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// One entry of the dynamic symbol table (.dynsym).
struct ElfSymbol {
    std::string name;
    unsigned char binding = 0;     ///< STB_LOCAL, STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE.
    unsigned char type = 0;        ///< STT_FUNC, STT_OBJECT, ...
    unsigned char visibility = 0;  ///< STV_DEFAULT, STV_HIDDEN, ...
    bool defined = false;          ///< False for SHN_UNDEF: the symbol must come from elsewhere.
};

/// What hostd-plugin-check needs to know about a shared object, read from its headers with
/// <elf.h> alone: nothing is loaded, nothing of the file runs.
struct ElfFile {
    unsigned char elfClass = 0;    ///< ELFCLASS32 or ELFCLASS64.
    unsigned char byteOrder = 0;   ///< ELFDATA2LSB or ELFDATA2MSB.
    std::uint16_t machine = 0;     ///< EM_X86_64, EM_AARCH64, ...
    std::uint16_t type = 0;        ///< ET_DYN for a shared object.
    std::vector<ElfSymbol> dynamicSymbols;
    std::vector<std::string> needed;   ///< DT_NEEDED entries, in order.
    std::vector<std::string> runpath;  ///< DT_RUNPATH (or DT_RPATH) split at ':', unexpanded.
    bool bindNow = false;          ///< DT_BIND_NOW, DF_BIND_NOW or DF_1_NOW: linked with -z now.
    bool textrel = false;          ///< DT_TEXTREL or DF_TEXTREL: relocations patch the code.

    static ElfFile read(const std::string& path);
        /// Reads the ELF header and, for a 64-bit little-endian object, the dynamic section and
        /// dynamic symbols (found through the section headers). Throws ElfError, naming what is
        /// wrong; a file of another class or byte order is returned with only its header fields.
};

std::uint16_t hostMachine();
    /// The ELF machine of this process (EM_X86_64 on x86-64).

std::string machineName(std::uint16_t machine);
    /// "x86-64", "AArch64", ... or "machine N".

}  // namespace hostd::check
