#include "Plugin.h"

#include "Log.h"
#include "StatusBoard.h"

#include <atomic>
#include <cstring>
#include <sys/eventfd.h>
#include <unistd.h>
#include <utility>

namespace hostd {

namespace {

std::atomic<bool> gStopping{false};

void cbLog(const hostd_type_context* ctx, hostd_type_log_level level, const char* msg, size_t len) {
    if (ctx == nullptr || msg == nullptr) return;
    int l = static_cast<int>(level);
    if (l < static_cast<int>(Level::Error)) l = static_cast<int>(Level::Error);
    if (l > static_cast<int>(Level::Debug)) l = static_cast<int>(Level::Debug);
    Log::writePluginLine(static_cast<Level>(l), {ctx->instance_name.ptr, ctx->instance_name.len}, {msg, len});
}

int cbIsStopping(const hostd_type_context*) { return gStopping.load() ? 1 : 0; }

hostd_type_result cbConfigGet(const hostd_type_config* config, const char* key, size_t keyLen, hostd_type_str* out) {
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

void cbReportFailure(const hostd_type_context* ctx, const char* msg, size_t len) {
    if (ctx == nullptr) return;
    FailureInbox::instance().post(std::string(ctx->instance_name.ptr, ctx->instance_name.len),
                                  msg != nullptr ? std::string(msg, len) : std::string());
}

void cbThreadTag(const hostd_type_context* ctx, const char* name, size_t len) {
    if (ctx == nullptr) return;
    StatusBoard::instance().tagThread(std::string(ctx->instance_name.ptr, ctx->instance_name.len),
                                      name != nullptr ? std::string_view(name, len) : std::string_view());
}

const hostd_type_services kServices = {
    sizeof(hostd_type_services), 0, &cbLog, &cbIsStopping, &cbConfigGet, &cbReportFailure, &cbThreadTag,
};

}  // namespace

FailureInbox::FailureInbox() : _event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

FailureInbox& FailureInbox::instance() {
    static FailureInbox inbox;
    return inbox;
}

void FailureInbox::post(std::string plugin, std::string message) {
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_reports.size() >= 1024) return;  // a plugin reporting in a loop must not exhaust memory
        _reports.emplace_back(std::move(plugin), std::move(message));
    }
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(_event.get(), &one, sizeof one);
}

std::vector<std::pair<std::string, std::string>> FailureInbox::take() {
    std::uint64_t count = 0;
    [[maybe_unused]] ssize_t n = ::read(_event.get(), &count, sizeof count);
    std::lock_guard<std::mutex> lock(_mutex);
    return std::exchange(_reports, {});
}

const hostd_type_services* hostServices() { return &kServices; }

void setHostStopping(bool stopping) { gStopping.store(stopping); }

}  // namespace hostd
