#pragma once

// hostd_cb_config_get, the one service that needs no host: a key looked up in the section a
// callback was given. Shared by hostd (supervisor/Plugin.cpp), its runner and
// hostd-plugin-check, which must answer it the same way.

#include <hostd/plugin.h>

#include <cstring>

namespace hostd {

inline hostd_type_result lookupConfig(const hostd_type_config* config, const char* key, size_t keyLen, hostd_type_str* out) {
    if (config == nullptr || key == nullptr || out == nullptr) return HOSTD_ERR_NOT_FOUND;
    for (size_t i = 0; i < config->count; ++i) {
        const hostd_type_config_entry& e = config->entries[i];
        if (e.key.len == keyLen && std::memcmp(e.key.ptr, key, keyLen) == 0) {
            *out = e.value;
            return HOSTD_OK;
        }
    }
    return HOSTD_ERR_NOT_FOUND;
}

}  // namespace hostd
