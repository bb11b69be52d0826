#pragma once

#include "Child.h"
#include "ElfFile.h"
#include "Report.h"

#include <string>

namespace hostd::check {

bool checkElfHeader(const ElfFile& elf, Report& report);
    /// The "elf" check: a 64-bit shared object for this machine. Returns false when the file
    /// cannot be a plugin for this host, so nothing else is worth checking.

void checkSymbolsAndFlags(const ElfFile& elf, Report& report);
    /// The checks that need only the headers: entry-symbol, exported-symbols, gnu-unique,
    /// bind-now, textrel.

void resolveUndefinedSymbols(const ElfFile& elf, const std::string& pluginPath, ChildChannel& channel);
    /// The "undefined-symbols" check, run in a child: loads each DT_NEEDED library (which runs
    /// their initializers, hence the child) and looks up every undefined, non-weak symbol in
    /// them. The plugin itself is not loaded.

std::vector<std::string> librarySearchDirs(const ElfFile& elf, const std::string& pluginPath, bool expandOrigin);
    /// The directories of the plugin's own RUNPATH, searched before the system's. With
    /// expandOrigin, $ORIGIN becomes the plugin file's directory; without, such entries are
    /// dropped: hostd loads a private copy, whose $ORIGIN is /proc/self/fd.

void* openLibrary(const std::string& name, const std::vector<std::string>& dirs, std::string& error);
    /// dlopen(RTLD_LAZY | RTLD_LOCAL) of a DT_NEEDED name, searched in dirs first, then as the
    /// loader would. Returns nullptr and sets error if not found. Never closed: callers are
    /// children that exit.

std::string listNames(const std::vector<std::string>& names, std::size_t max = 6);
    /// "a, b, c and 4 more".

}  // namespace hostd::check
