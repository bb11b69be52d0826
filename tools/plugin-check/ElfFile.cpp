#include "ElfFile.h"

#include <array>
#include <cstring>
#include <elf.h>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string_view>

namespace hostd::check {

namespace {

/// Bounds-checked access to the bytes of the file: a malformed or hostile file is reported,
/// never read out of bounds.
class Bytes {
public:
    explicit Bytes(std::vector<char> data) : _data(std::move(data)) {}

    std::size_t size() const noexcept { return _data.size(); }

    template <class T>
    T at(std::uint64_t offset, const char* what) const {
        if (offset > _data.size() || sizeof(T) > _data.size() - offset)
            throw ElfError(std::string("malformed ELF: ") + what + " lies outside the file");
        T value;
        std::memcpy(&value, _data.data() + offset, sizeof(T));  // the file need not be aligned
        return value;
    }

    std::string string(const Elf64_Shdr& table, std::uint64_t index) const {
        if (table.sh_offset > _data.size() || table.sh_size > _data.size() - table.sh_offset || index >= table.sh_size)
            throw ElfError("malformed ELF: string table index outside the file");
        std::string_view s(_data.data() + table.sh_offset + index, table.sh_size - index);
        auto end = s.find('\0');
        if (end == std::string_view::npos) throw ElfError("malformed ELF: unterminated string");
        return std::string(s.substr(0, end));
    }

private:
    std::vector<char> _data;
};

std::vector<Elf64_Shdr> sectionHeaders(const Bytes& bytes, const Elf64_Ehdr& eh) {
    if (eh.e_shnum == 0) throw ElfError("no section headers (stripped with sstrip?): cannot list its symbols");
    if (eh.e_shentsize != sizeof(Elf64_Shdr)) throw ElfError("malformed ELF: unexpected section header size");
    std::vector<Elf64_Shdr> out;
    for (std::uint16_t i = 0; i < eh.e_shnum; ++i)
        out.push_back(bytes.at<Elf64_Shdr>(eh.e_shoff + std::uint64_t(i) * sizeof(Elf64_Shdr), "section header"));
    return out;
}

const Elf64_Shdr& linkedSection(const std::vector<Elf64_Shdr>& sections, const Elf64_Shdr& s) {
    if (s.sh_link >= sections.size()) throw ElfError("malformed ELF: section link out of range");
    return sections[s.sh_link];
}

void readDynamicSymbols(const Bytes& bytes, const std::vector<Elf64_Shdr>& sections, const Elf64_Shdr& dynsym,
                        ElfFile& out) {
    const Elf64_Shdr& strings = linkedSection(sections, dynsym);
    for (std::uint64_t off = sizeof(Elf64_Sym); off + sizeof(Elf64_Sym) <= dynsym.sh_size; off += sizeof(Elf64_Sym)) {
        auto sym = bytes.at<Elf64_Sym>(dynsym.sh_offset + off, "dynamic symbol");
        ElfSymbol s;
        s.name = bytes.string(strings, sym.st_name);
        s.binding = ELF64_ST_BIND(sym.st_info);
        s.type = ELF64_ST_TYPE(sym.st_info);
        s.visibility = ELF64_ST_VISIBILITY(sym.st_other);
        s.defined = sym.st_shndx != SHN_UNDEF;
        out.dynamicSymbols.push_back(std::move(s));
    }
}

void splitPath(const std::string& path, std::vector<std::string>& out) {
    std::stringstream ss(path);
    for (std::string dir; std::getline(ss, dir, ':');)
        if (!dir.empty()) out.push_back(dir);
}

void readDynamicSection(const Bytes& bytes, const std::vector<Elf64_Shdr>& sections, const Elf64_Shdr& dynamic,
                        ElfFile& out) {
    const Elf64_Shdr& strings = linkedSection(sections, dynamic);
    std::string rpath, runpath;
    for (std::uint64_t off = 0; off + sizeof(Elf64_Dyn) <= dynamic.sh_size; off += sizeof(Elf64_Dyn)) {
        auto d = bytes.at<Elf64_Dyn>(dynamic.sh_offset + off, "dynamic entry");
        switch (d.d_tag) {
        case DT_NULL: off = dynamic.sh_size; break;
        case DT_NEEDED: out.needed.push_back(bytes.string(strings, d.d_un.d_val)); break;
        case DT_RPATH: rpath = bytes.string(strings, d.d_un.d_val); break;
        case DT_RUNPATH: runpath = bytes.string(strings, d.d_un.d_val); break;
        case DT_BIND_NOW: out.bindNow = true; break;
        case DT_TEXTREL: out.textrel = true; break;
        case DT_FLAGS:
            if (d.d_un.d_val & DF_BIND_NOW) out.bindNow = true;
            if (d.d_un.d_val & DF_TEXTREL) out.textrel = true;
            break;
        case DT_FLAGS_1:
            if (d.d_un.d_val & DF_1_NOW) out.bindNow = true;
            break;
        default: break;
        }
    }
    // The loader ignores DT_RPATH when DT_RUNPATH is present.
    splitPath(runpath.empty() ? rpath : runpath, out.runpath);
}

}  // namespace

ElfFile ElfFile::read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ElfError("cannot open " + path);
    Bytes bytes{std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>())};
    if (bytes.size() == 0) throw ElfError("empty file (0 bytes)");
    if (bytes.size() < EI_NIDENT || bytes.at<std::array<char, SELFMAG>>(0, "ELF magic") !=
                                        std::array<char, SELFMAG>{ELFMAG0, 'E', 'L', 'F'})
        throw ElfError("not an ELF file");
    ElfFile out;
    out.elfClass = bytes.at<unsigned char>(EI_CLASS, "ELF class");
    out.byteOrder = bytes.at<unsigned char>(EI_DATA, "ELF byte order");
    if (out.elfClass != ELFCLASS64 || out.byteOrder != ELFDATA2LSB) return out;  // reported by the "elf" check
    auto eh = bytes.at<Elf64_Ehdr>(0, "ELF header");
    out.machine = eh.e_machine;
    out.type = eh.e_type;
    std::vector<Elf64_Shdr> sections = sectionHeaders(bytes, eh);
    for (const Elf64_Shdr& s : sections) {
        if (s.sh_type == SHT_DYNSYM) readDynamicSymbols(bytes, sections, s, out);
        if (s.sh_type == SHT_DYNAMIC) readDynamicSection(bytes, sections, s, out);
    }
    return out;
}

std::uint16_t hostMachine() {
#if defined(__x86_64__)
    return EM_X86_64;
#elif defined(__aarch64__)
    return EM_AARCH64;
#elif defined(__riscv)
    return EM_RISCV;
#else
#error "hostd-plugin-check: add this architecture's ELF machine"
#endif
}

std::string machineName(std::uint16_t machine) {
    switch (machine) {
    case EM_X86_64: return "x86-64";
    case EM_386: return "i386";
    case EM_AARCH64: return "AArch64";
    case EM_ARM: return "ARM";
    case EM_RISCV: return "RISC-V";
    case EM_PPC64: return "PowerPC64";
    case EM_S390: return "s390";
    default: return "machine " + std::to_string(machine);
    }
}

}  // namespace hostd::check
