#include "MiniHost.h"

#include "ConfigLookup.h"

#include <cstring>
#include <pthread.h>
#include <string>

namespace hostd::check {

namespace {

std::string levelName(hostd_type_log_level level) {
    switch (level) {
    case HOSTD_LOG_ERROR: return "error";
    case HOSTD_LOG_WARNING: return "warning";
    case HOSTD_LOG_NOTICE: return "notice";
    case HOSTD_LOG_INFO: return "info";
    case HOSTD_LOG_DEBUG: return "debug";
    }
    return "level " + std::to_string(static_cast<int>(level));  // a level newer than this tool
}

hostd_type_str slice(const std::string& s) noexcept { return {s.c_str(), s.size()}; }

}  // namespace

MiniHost::MiniHost(const std::string& name, const std::vector<std::pair<std::string, std::string>>& config,
                   ChildChannel& channel)
    : _channel(channel) {
    for (const auto& [key, value] : config) _entries.push_back({slice(key), slice(value)});
    _config = {_entries.data(), _entries.size()};
    _services = {sizeof(hostd_type_services), 0, &cbLog, &cbIsStopping, &cbConfigGet, &cbReportFailure, &cbThreadTag};
    _context = {sizeof(hostd_type_context), 0, slice(name), &_services, this};
}

void MiniHost::cbReportFailure(const hostd_type_context* ctx, const char* msg, size_t len) {
    // hostd would restart the plugin; here the report is shown with the plugin's log.
    if (ctx == nullptr) return;
    std::string text = "reported a failure: " + (msg != nullptr ? std::string(msg, len) : std::string());
    static_cast<MiniHost*>(ctx->host_data)->_channel.log("error", text);
}

void MiniHost::cbThreadTag(const hostd_type_context*, const char* name, size_t len) {
    // Named like hostd names it, so that a thread left after stop is reported by its name.
    std::string comm;
    for (size_t i = 0; name != nullptr && i < len && comm.size() < 15; ++i)
        comm += (name[i] >= 0x20 && name[i] < 0x7f) ? name[i] : '?';
    if (!comm.empty()) ::pthread_setname_np(::pthread_self(), comm.c_str());
}

void MiniHost::cbLog(const hostd_type_context* ctx, hostd_type_log_level level, const char* msg, size_t len) {
    if (ctx == nullptr || msg == nullptr) return;
    static_cast<MiniHost*>(ctx->host_data)->_channel.log(levelName(level), std::string_view(msg, len));
}

int MiniHost::cbIsStopping(const hostd_type_context* ctx) {
    return ctx != nullptr && static_cast<const MiniHost*>(ctx->host_data)->_stopping.load() ? 1 : 0;
}

hostd_type_result MiniHost::cbConfigGet(const hostd_type_config* config, const char* key, size_t keyLen,
                                        hostd_type_str* out) {
    return lookupConfig(config, key, keyLen, out);
}

}  // namespace hostd::check
