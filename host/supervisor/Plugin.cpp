#include "Plugin.h"

#include "ConfigLookup.h"

#include "Log.h"
#include "StatusBoard.h"

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <sys/eventfd.h>
#include <unistd.h>
#include <utility>

namespace hostd {

namespace {

std::atomic<bool> gStopping{false};

bool admitted(const hostd_type_context* ctx, const char* service) {
    return ctx != nullptr && ctx->host_data != nullptr && static_cast<ServiceContext*>(ctx->host_data)->admits(service);
}

void cbLog(const hostd_type_context* ctx, hostd_type_log_level level, const char* msg, size_t len) {
    if (msg == nullptr || !admitted(ctx, "hostd_cb_log")) return;
    int l = static_cast<int>(level);
    if (l < static_cast<int>(Level::Error)) l = static_cast<int>(Level::Error);
    if (l > static_cast<int>(Level::Debug)) l = static_cast<int>(Level::Debug);
    Log::writePluginLine(static_cast<Level>(l), {ctx->instance_name.ptr, ctx->instance_name.len}, {msg, len});
}

int cbIsStopping(const hostd_type_context* ctx) {
    // A thread left running after its plugin's stop: told to stop, not counted.
    bool closed = ctx != nullptr && ctx->host_data != nullptr && !static_cast<ServiceContext*>(ctx->host_data)->isOpen;
    return gStopping.load() || closed ? 1 : 0;
}

hostd_type_result cbConfigGet(const hostd_type_config* config, const char* key, size_t keyLen, hostd_type_str* out) {
    return lookupConfig(config, key, keyLen, out);
}

void cbReportFailure(const hostd_type_context* ctx, const char* msg, size_t len) {
    if (!admitted(ctx, "hostd_cb_report_failure")) return;
    FailureInbox::instance().post({std::string(ctx->instance_name.ptr, ctx->instance_name.len),
                                   msg != nullptr ? std::string(msg, len) : std::string()});
}

void cbThreadTag(const hostd_type_context* ctx, const char* name, size_t len) {
    if (!admitted(ctx, "hostd_cb_thread_tag")) return;
    StatusBoard::instance().tagThread(std::string(ctx->instance_name.ptr, ctx->instance_name.len),
                                      name != nullptr ? std::string_view(name, len) : std::string_view());
}

const hostd_type_services kServices = {
    sizeof(hostd_type_services), 0, &cbLog, &cbIsStopping, &cbConfigGet, &cbReportFailure, &cbThreadTag,
};

}  // namespace

ServiceContext& ServiceContext::of(const std::string& plugin) {
    // Never destroyed: a plugin's thread may call through its context during the exit too.
    static std::mutex& mutex = *new std::mutex;
    static auto& contexts = *new std::map<std::string, std::unique_ptr<ServiceContext>>;
    std::lock_guard lock(mutex);
    auto& slot = contexts[plugin];
    if (!slot) {
        slot = std::make_unique<ServiceContext>();
        slot->name = plugin;
        slot->context = {sizeof(hostd_type_context), 0, {slot->name.c_str(), slot->name.size()}, hostServices(), slot.get()};
    }
    return *slot;
}

void ServiceContext::open() noexcept {
    refusalSaid.store(false);
    isOpen.store(true);
}

void ServiceContext::close() noexcept { isOpen.store(false); }

bool ServiceContext::admits(const char* service) noexcept {
    if (isOpen.load(std::memory_order_relaxed)) return true;
    StatusBoard::instance().lateServiceCall();
    if (!refusalSaid.exchange(true)) try {
            HOSTD_LOG(Warning, name,
                      "the plugin called a host service after its last stop returned (plugin.h: its context is valid "
                      "from start until the last stop returns); refused, and every later call until it starts again",
                      {"service", service});
        } catch (const std::exception&) {
            // Out of memory: the call is refused all the same.
        }
    return false;
}

FailureInbox::FailureInbox() : _event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

FailureInbox& FailureInbox::instance() {
    static FailureInbox inbox;
    return inbox;
}

void FailureInbox::post(FailureReport report) {
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_reports.size() >= 1024) return;  // a plugin reporting in a loop must not exhaust memory
        _reports.push_back(std::move(report));
    }
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(_event.get(), &one, sizeof one);
}

std::vector<FailureReport> FailureInbox::take() {
    std::uint64_t count = 0;
    [[maybe_unused]] ssize_t n = ::read(_event.get(), &count, sizeof count);
    std::lock_guard<std::mutex> lock(_mutex);
    return std::exchange(_reports, {});
}

const hostd_type_services* hostServices() { return &kServices; }

void setHostStopping(bool stopping) { gStopping.store(stopping); }

}  // namespace hostd
