#pragma once

// What a plugin's descriptor must be for hostd to run it, checked the same way in hostd's
// process (loader/PluginImage.cpp) and in a runner (isolation = process).

#include <hostd/plugin.h>

#include <cstddef>
#include <string>

namespace hostd {

inline std::string abiText(std::uint32_t major, std::uint32_t minor) {
    return std::to_string(major) + "." + std::to_string(minor);
}

/// Why d cannot be run by this hostd, or empty if it can.
inline std::string descriptorProblem(const hostd_type_descriptor* d) {
    if (d == nullptr) return std::string(HOSTD_ENTRY_SYMBOL) + " returned no descriptor";
    const std::string host = abiText(HOSTD_ABI_MAJOR, HOSTD_ABI_MINOR);
    if (d->abi_major != HOSTD_ABI_MAJOR)
        return "plugin ABI " + abiText(d->abi_major, d->abi_minor) + " is not supported by this hostd (ABI " + host +
               "): the major version differs; rebuild the plugin against this hostd's SDK";
    if (d->abi_minor > HOSTD_ABI_MINOR)
        return "plugin ABI " + abiText(d->abi_major, d->abi_minor) + " is newer than this hostd (ABI " + host +
               "); upgrade hostd or build the plugin against SDK " + host;
    if (d->size < offsetof(hostd_type_descriptor, reload) + sizeof(d->reload))
        return "descriptor too small (" + std::to_string(d->size) + " bytes) for ABI " + abiText(d->abi_major, d->abi_minor);
    if (d->start == nullptr || d->stop == nullptr) return "descriptor lacks a start or stop callback";
    return {};
}

}  // namespace hostd
