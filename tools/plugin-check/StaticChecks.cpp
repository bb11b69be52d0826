#include "StaticChecks.h"

#include <hostd/plugin.h>

#include <cxxabi.h>
#include <dlfcn.h>
#include <elf.h>
#include <memory>
#include <unistd.h>

namespace hostd::check {

namespace {

std::string demangle(const std::string& name) {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status), std::free);
    return status == 0 && out ? out.get() : name;
}

bool isExported(const ElfSymbol& s) {
    return s.defined && s.binding != STB_LOCAL && (s.visibility == STV_DEFAULT || s.visibility == STV_PROTECTED);
}

void checkEntrySymbol(const ElfFile& elf, Report& report) {
    for (const ElfSymbol& s : elf.dynamicSymbols) {
        if (s.name != HOSTD_ENTRY_SYMBOL) continue;
        if (!isExported(s)) break;
        if (s.type != STT_FUNC) {
            report.set("entry-symbol", Status::Fail, std::string(HOSTD_ENTRY_SYMBOL) + " is exported but is not a function");
            return;
        }
        report.set("entry-symbol", Status::Pass, std::string(HOSTD_ENTRY_SYMBOL) + " is exported");
        return;
    }
    report.set("entry-symbol", Status::Fail,
               std::string("no exported ") + HOSTD_ENTRY_SYMBOL +
                   ": not a hostd plugin, or defined without HOSTD_EXPORT / HOSTD_PLUGIN");
}

void checkExports(const ElfFile& elf, Report& report) {
    std::vector<std::string> extra, unique;
    for (const ElfSymbol& s : elf.dynamicSymbols) {
        if (!isExported(s)) continue;
        if (s.binding == STB_GNU_UNIQUE) unique.push_back(demangle(s.name));
        if (s.name != HOSTD_ENTRY_SYMBOL) extra.push_back(demangle(s.name));
    }
    if (extra.empty())
        report.set("exported-symbols", Status::Pass, std::string("only ") + HOSTD_ENTRY_SYMBOL);
    else
        report.set("exported-symbols", Status::Warn,
                   std::to_string(extra.size()) + " symbol(s) exported besides " + HOSTD_ENTRY_SYMBOL + ": " +
                       listNames(extra) +
                       "; they can interpose on other code in the host. Build with hostd_add_plugin or the "
                       "hostd-sdk pkg-config flags (version script)");
    if (unique.empty())
        report.set("gnu-unique", Status::Pass, "no STB_GNU_UNIQUE symbols");
    else
        report.set("gnu-unique", Status::Fail,
                   std::to_string(unique.size()) + " STB_GNU_UNIQUE symbol(s): " + listNames(unique) +
                       "; dlclose can never unload the plugin, so an upgrade would keep running the old code. "
                       "Build with -fno-gnu-unique and hidden visibility (hostd_add_plugin does)");
}

}  // namespace

std::vector<std::string> librarySearchDirs(const ElfFile& elf, const std::string& pluginPath, bool expandOrigin) {
    std::string origin = pluginPath.find('/') == std::string::npos ? "." : pluginPath.substr(0, pluginPath.rfind('/'));
    std::vector<std::string> out;
    for (std::string dir : elf.runpath) {
        bool relative = dir.find("$ORIGIN") != std::string::npos || dir.find("${ORIGIN}") != std::string::npos;
        if (relative && !expandOrigin) continue;
        for (std::string var : {"${ORIGIN}", "$ORIGIN"})
            for (std::size_t pos; (pos = dir.find(var)) != std::string::npos;) dir.replace(pos, var.size(), origin);
        out.push_back(dir);
    }
    return out;
}

void* openLibrary(const std::string& name, const std::vector<std::string>& dirs, std::string& error) {
    if (name.find('/') == std::string::npos)
        for (const std::string& dir : dirs) {
            std::string candidate = dir + "/" + name;
            if (::access(candidate.c_str(), R_OK) != 0) continue;
            if (void* h = ::dlopen(candidate.c_str(), RTLD_LAZY | RTLD_LOCAL)) return h;
        }
    void* h = ::dlopen(name.c_str(), RTLD_LAZY | RTLD_LOCAL);
    if (h == nullptr) error = ::dlerror();
    return h;
}

std::string listNames(const std::vector<std::string>& names, std::size_t max) {
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < max; ++i) out += (i ? ", " : "") + names[i];
    if (names.size() > max) out += " and " + std::to_string(names.size() - max) + " more";
    return out;
}

bool checkElfHeader(const ElfFile& elf, Report& report) {
    std::string problem;
    if (elf.elfClass != ELFCLASS64) problem = "a 32-bit ELF object; hostd is 64-bit";
    else if (elf.byteOrder != ELFDATA2LSB) problem = "a big-endian ELF object";
    else if (elf.machine != hostMachine())
        problem = "built for " + machineName(elf.machine) + ", this host is " + machineName(hostMachine());
    else if (elf.type != ET_DYN) problem = "not a shared object (ELF type " + std::to_string(elf.type) + "); link with -shared";
    if (!problem.empty()) {
        report.set("elf", Status::Fail, problem);
        return false;
    }
    report.set("elf", Status::Pass, "ELF64 shared object for " + machineName(elf.machine));
    return true;
}

void checkSymbolsAndFlags(const ElfFile& elf, Report& report) {
    checkEntrySymbol(elf, report);
    checkExports(elf, report);
    if (elf.bindNow)
        report.set("bind-now", Status::Pass, "linked with -z now: every symbol is bound at load");
    else
        report.set("bind-now", Status::Warn,
                   "not linked with -z now: a missing symbol would fail at its first call, inside a "
                   "running plugin, instead of at load");
    if (elf.textrel)
        report.set("textrel", Status::Fail,
                   "has text relocations (DT_TEXTREL): code compiled without -fPIC; its pages are made "
                   "writable at load and cannot be shared. Compile every object with -fPIC");
    else
        report.set("textrel", Status::Pass, "no text relocations");
}

void resolveUndefinedSymbols(const ElfFile& elf, const std::string& pluginPath, ChildChannel& channel) {
    channel.phase("undefined-symbols", std::chrono::seconds(10));
    std::vector<void*> libraries;
    std::vector<std::string> missingLibraries;
    std::vector<std::string> dirs = librarySearchDirs(elf, pluginPath, true);
    for (const std::string& name : elf.needed) {
        std::string error;
        if (void* h = openLibrary(name, dirs, error)) libraries.push_back(h);
        else missingLibraries.push_back(error);
    }
    std::vector<std::string> unresolved;
    std::size_t undefined = 0;
    for (const ElfSymbol& s : elf.dynamicSymbols) {
        // Weak references may stay unresolved by design (__gmon_start__, _ITM_*).
        if (s.defined || s.binding == STB_WEAK || s.name.empty()) continue;
        ++undefined;
        bool found = false;
        for (void* h : libraries) {
            ::dlerror();
            ::dlsym(h, s.name.c_str());
            if (::dlerror() == nullptr) {
                found = true;
                break;
            }
        }
        if (!found) unresolved.push_back(demangle(s.name));
    }
    std::string neededText = elf.needed.empty() ? "none" : listNames(elf.needed, 8);
    if (!missingLibraries.empty())
        channel.result("undefined-symbols", Status::Fail, "a needed library cannot be loaded: " + listNames(missingLibraries));
    else if (!unresolved.empty())
        channel.result("undefined-symbols", Status::Fail,
                       std::to_string(unresolved.size()) + " undefined symbol(s) not provided by its needed libraries (" +
                           neededText + "): " + listNames(unresolved) +
                           "; link the library that defines them (and link with -z defs to catch this at build time)");
    else
        channel.result("undefined-symbols", Status::Pass,
                       std::to_string(undefined) + " undefined symbol(s), all provided by its needed libraries (" +
                           neededText + ")");
}

}  // namespace hostd::check
