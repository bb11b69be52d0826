#pragma once

#include "Child.h"

#include <hostd/plugin.h>

#include <atomic>
#include <string>
#include <utility>
#include <vector>

namespace hostd::check {

/// The host side of the ABI as hostd-plugin-check provides it: a services table (log,
/// is_stopping, config_get), the plugin's context and its configuration. Independent of hostd's
/// own implementation on purpose: it is a second reading of plugin.h, so a plugin that relies on
/// something the header does not promise shows up here.
class MiniHost {
public:
    MiniHost(const std::string& name, const std::vector<std::pair<std::string, std::string>>& config,
             ChildChannel& channel);
        /// Keeps references to name and config: both must outlive the MiniHost.
    MiniHost(const MiniHost&) = delete;
    MiniHost& operator=(const MiniHost&) = delete;

    const hostd_type_context* context() const noexcept { return &_context; }
    const hostd_type_config* config() const noexcept { return &_config; }

    void beginStopping() noexcept { _stopping = true; }
        /// From now on hostd_cb_is_stopping returns non-zero, as during hostd's drain.

private:
    static void cbLog(const hostd_type_context* ctx, hostd_type_log_level level, const char* msg, size_t len);
    static int cbIsStopping(const hostd_type_context* ctx);
    static hostd_type_result cbConfigGet(const hostd_type_config* config, const char* key, size_t keyLen,
                                         hostd_type_str* out);
    static void cbReportFailure(const hostd_type_context* ctx, const char* msg, size_t len);
    static void cbThreadTag(const hostd_type_context* ctx, const char* name, size_t len);

    ChildChannel& _channel;
    std::atomic<bool> _stopping{false};
    std::vector<hostd_type_config_entry> _entries;
    hostd_type_config _config{};
    hostd_type_services _services{};
    hostd_type_context _context{};
};

}  // namespace hostd::check
