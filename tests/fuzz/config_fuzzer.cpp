// libFuzzer target for the configuration parser: any bytes must give either a snapshot or a
// list of FILE:LINE errors, never a crash, a hang or a sanitizer report.
#include "Config.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Split the input into a main file and a drop-in at the first NUL, so that merging is fuzzed too.
    std::string text(reinterpret_cast<const char*>(data), size);
    auto nul = text.find('\0');
    std::vector<hostd::ConfigText> sources{{"/etc/hostd.conf", text.substr(0, nul)}};
    if (nul != std::string::npos) sources.push_back({"/etc/hostd.conf.d/10-x.conf", text.substr(nul + 1)});
    hostd::ConfigLoad load = hostd::parseConfig(sources);
    if (load.ok()) {
        for (const auto& [key, value] : hostd::describe(load.config->host)) (void)load.config->display(key, value);
        for (const auto& [name, section] : load.config->plugins)
            for (const auto& s : section.settings) (void)load.config->display(s.key, s.value);
    } else if (load.issues.empty()) {
        __builtin_trap();  // an invalid configuration must say why
    }
    for (const auto& issue : load.issues) (void)issue.str();
    return 0;
}
