// hostd-plugin-check: tells a plugin author, before shipping, whether hostd would load the
// plugin, and whether the plugin behaves: static checks of the file, then its whole lifecycle
// run in a child process, so a crash is reported rather than suffered. See --help and
// docs/writing-plugins.md.
#include "Child.h"
#include "ElfFile.h"
#include "Lifecycle.h"
#include "Report.h"
#include "SectionFile.h"
#include "StaticChecks.h"

#include <hostd/plugin.h>

#include <iostream>
#include <optional>
#include <string>
#include <string_view>

namespace {

using namespace hostd::check;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage = R"(usage: hostd-plugin-check FILE.so [options]

Checks a hostd plugin before it ships. Static checks read the file: ELF class and
machine, the exported entry symbol, extra exported symbols (warning), STB_GNU_UNIQUE
symbols, undefined symbols its needed libraries do not provide, -z now (warning),
text relocations. Dynamic checks run the plugin in a child process as hostd would:
load from a private copy, ABI version, start, reload, stop within its deadline,
unload; then no thread, descriptor or pthread key may be left behind.

options:
  --config=FILE          the plugin's configuration: key = value lines, optionally under
                         [plugin.NAME] (a hostd.conf.d/NAME.conf drop-in works as is)
  --name=NAME            instance name (default: FILE's name without .so)
  --start-timeout=D      deadline of start (default 10s, or start_timeout in --config)
  --reload-timeout=D     deadline of reload (default 10s, or reload_timeout in --config)
  --stop-timeout=D       deadline of stop (default 5s, or stop_timeout in --config)
  --json                 print the report as JSON (for CI)
  --strict               exit non-zero on warnings too
  --help, --version

Durations: 500ms, 10s, 2m, or a bare number of seconds.
Exit status: 0 every check passed (warnings allowed), 1 a check failed, 2 bad usage.
)";

struct Options {
    std::string file;
    std::optional<std::string> configFile;
    std::optional<std::string> name;
    std::optional<std::chrono::milliseconds> startTimeout, reloadTimeout, stopTimeout;
    bool json = false;
    bool strict = false;
};

/// Thrown for a bad command line or configuration file: exit 2 with the message.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::chrono::milliseconds durationOption(std::string_view option, std::string_view value) {
    auto d = parseDuration(value);
    if (!d) throw UsageError(std::string(option) + ": '" + std::string(value) + "' is not a duration (e.g. 500ms, 10s, 2m)");
    return *d;
}

Options parseArgs(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        auto value = [&](std::string_view prefix) -> std::optional<std::string_view> {
            if (!arg.starts_with(prefix)) return std::nullopt;
            return arg.substr(prefix.size());
        };
        if (arg == "--help" || arg == "-h") {
            std::cout << kUsage;
            std::exit(kExitOk);
        } else if (arg == "--version") {
            std::cout << "hostd-plugin-check " << HOSTD_VERSION << " (plugin ABI " << HOSTD_ABI_MAJOR << "."
                      << HOSTD_ABI_MINOR << ")\n";
            std::exit(kExitOk);
        } else if (arg == "--json") {
            o.json = true;
        } else if (arg == "--strict") {
            o.strict = true;
        } else if (auto v = value("--config=")) {
            o.configFile = std::string(*v);
        } else if (auto v = value("--name=")) {
            o.name = std::string(*v);
        } else if (auto v = value("--start-timeout=")) {
            o.startTimeout = durationOption("--start-timeout", *v);
        } else if (auto v = value("--reload-timeout=")) {
            o.reloadTimeout = durationOption("--reload-timeout", *v);
        } else if (auto v = value("--stop-timeout=")) {
            o.stopTimeout = durationOption("--stop-timeout", *v);
        } else if (arg.starts_with("-")) {
            throw UsageError("unknown option " + std::string(arg));
        } else if (!o.file.empty()) {
            throw UsageError("one plugin file at a time (got " + o.file + " and " + std::string(arg) + ")");
        } else {
            o.file = std::string(arg);
        }
    }
    if (o.file.empty()) throw UsageError("no plugin file given");
    return o;
}

std::string instanceName(const Options& o) {
    if (o.name) return *o.name;
    std::string base = o.file.substr(o.file.find_last_of('/') + 1);  // npos + 1 == 0
    return base.ends_with(".so") ? base.substr(0, base.size() - 3) : base;
}

/// The lifecycle's settings: command line first, then the host keys of the section, then defaults.
LifecycleOptions lifecycleOptions(const Options& o) {
    LifecycleOptions l;
    l.path = o.file;
    l.name = instanceName(o);
    PluginSection section;
    if (o.configFile) {
        try {
            section = readSection(*o.configFile, l.name);
        } catch (const SectionError& e) {
            throw UsageError(e.what());
        }
    }
    l.config = std::move(section.entries);
    l.startTimeout = o.startTimeout.value_or(section.startTimeout.value_or(l.startTimeout));
    l.reloadTimeout = o.reloadTimeout.value_or(section.reloadTimeout.value_or(l.reloadTimeout));
    l.stopTimeout = o.stopTimeout.value_or(section.stopTimeout.value_or(l.stopTimeout));
    return l;
}

void runChecks(LifecycleOptions lifecycle, Report& report) {
    ElfFile elf;
    try {
        elf = ElfFile::read(lifecycle.path);
    } catch (const ElfError& e) {
        report.set("elf", Status::Fail, e.what());
        report.skipPending("not run: the file is not a readable ELF object");
        return;
    }
    if (!checkElfHeader(elf, report)) {
        report.skipPending("not run: the file cannot be a plugin for this host");
        return;
    }
    checkSymbolsAndFlags(elf, report);
    lifecycle.needed = elf.needed;
    lifecycle.searchDirs = librarySearchDirs(elf, lifecycle.path, false);
    runInChild([&](ChildChannel& channel) { resolveUndefinedSymbols(elf, lifecycle.path, channel); }, report);
    runInChild([&](ChildChannel& channel) { runLifecycle(lifecycle, channel); }, report);
    report.skipPending("not run");
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    LifecycleOptions lifecycle;
    try {
        options = parseArgs(argc, argv);
        lifecycle = lifecycleOptions(options);
    } catch (const UsageError& e) {
        std::cerr << "hostd-plugin-check: " << e.what() << "\n(see hostd-plugin-check --help)\n";
        return kExitUsage;
    }
    Report report(options.file);
    try {
        runChecks(lifecycle, report);
    } catch (const std::exception& e) {
        std::cerr << "hostd-plugin-check: " << e.what() << "\n";
        return kExitUsage;
    }
    std::cout.flush();
    if (options.json) report.printJson(std::cout);
    else report.printText(std::cout);
    return report.failed(options.strict) ? kExitFailed : kExitOk;
}
