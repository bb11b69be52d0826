#include "InProcessExecutor.h"

#include "CrashGuard.h"
#include "ExitCode.h"
#include "HostFds.h"
#include "Log.h"
#include "StatusBoard.h"

#include <cstdio>

namespace hostd {

namespace {

/// An image loaded in this process.
class LoadedImage : public PluginCode {
public:
    explicit LoadedImage(std::unique_ptr<PluginImage> image) : image(std::move(image)) {}

    const std::string& content() const noexcept override { return image->content(); }
    const std::string& version() const noexcept override { return image->version(); }
    const std::vector<std::string>& dependencies() const noexcept override { return image->dependencies(); }
    bool hasReload() const noexcept override { return image->hasReload(); }
    std::uint64_t size() const noexcept override { return image->size(); }
    std::uint64_t heldBytes() const noexcept override { return image->copiedBytes(); }
    Clock::duration loadDuration() const noexcept override { return image->loadDuration(); }

    std::unique_ptr<PluginImage> image;
    std::string crashLabel;
};

/// The plugin's config section as the C ABI presents it, kept alive for one call.
class CallConfig {
public:
    CallConfig(ConfigPtr snapshot, const std::string& plugin) : _snapshot(std::move(snapshot)) {
        if (const PluginSection* section = _snapshot ? _snapshot->plugin(plugin) : nullptr) {
            _entries.reserve(section->settings.size());
            for (const auto& s : section->settings)
                _entries.push_back({{s.key.data(), s.key.size()}, {s.value.data(), s.value.size()}});
        }
        _config.entries = _entries.data();
        _config.count = _entries.size();
    }
    const hostd_type_config* get() const noexcept { return &_config; }

private:
    ConfigPtr _snapshot;  // owns the strings the entries point into
    std::vector<hostd_type_config_entry> _entries;
    hostd_type_config _config{};
};

/// Runs one plugin callback, turning anything that escapes it into a result.
template <class F>
CallResult invoke(F&& callback) {
    char buf[1024];
    buf[0] = '\0';
    hostd_type_message message{buf, sizeof buf};
    CallResult result;
    try {
        result.code = callback(&message);
    } catch (...) {
        // A plugin that lets an exception cross the C ABI is broken, but must not take the
        // host down when the unwinder can get here.
        result.code = HOSTD_ERR_EXCEPTION;
        std::snprintf(buf, sizeof buf, "%s", "exception escaped the plugin's C ABI callback");
    }
    buf[sizeof buf - 1] = '\0';
    result.message = buf;
    return result;
}

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
    return out;
}

}  // namespace

const char* callName(PluginCall call) {
    switch (call) {
    case PluginCall::Start: return "start";
    case PluginCall::Reload: return "reload";
    case PluginCall::Stop: return "stop";
    }
    return "call";
}

InProcessExecutor::InProcessExecutor(LoadWatch::Overrun onHungLoad) : _loadWatch(std::move(onHungLoad)) {}

std::unique_ptr<PluginCode> InProcessExecutor::load(PluginFile file, Millis timeout) {
    if (_loadWatch.loaderHeld())
        throw LoadError("not loaded: plugin " + _loadWatch.heldBy().plugin + "'s " + _loadWatch.heldBy().what +
                        " never returned and holds the dynamic loader; restart hostd");
    std::string name = file.name, sha = file.content;
    auto image = _loadWatch.guard({name, sha, "load"}, timeout, [&] { return PluginImage::open(std::move(file)); });
    auto code = std::make_unique<LoadedImage>(std::move(image));
    code->crashLabel = name + "@" + sha;
    return code;
}

bool InProcessExecutor::unload(const std::string& plugin, std::unique_ptr<PluginCode> code, Millis timeout) {
    if (!code) return true;
    std::unique_ptr<PluginImage> image = std::move(static_cast<LoadedImage&>(*code).image);
    if (_loadWatch.loaderHeld()) {
        // dlclose would wait for the hung load's lock for ever; said once, when it hung.
        HOSTD_LOG(Debug, plugin, "image left mapped: the dynamic loader is held", {"content", image->content()});
        (void)image.release();
        return true;  // nothing is loaded any more that it could stand in for
    }
    std::vector<std::string> unique = ElfFile::uniqueSymbols(image->fd());
    _calls.retireIdleWorkers();  // their exit runs the plugin's thread_local destructors
    std::string label = plugin + "@" + image->content();
    if (_loadWatch.guard({plugin, image->content(), "unload"}, timeout, [&] { return image->unload(); })) {
        if (std::size_t keys = PluginThreads::keysLeft(label))
            HOSTD_LOG(Warning, plugin,
                      "the plugin left thread-specific keys whose destructors are its code (plugin.h: delete your keys); "
                      "they will not run, and the values they would free leak",
                      {"keys", std::to_string(keys)}, {"content", image->content()});
        return true;
    }
    if (const PluginThreads::Holds& held = image->heldBy()) {
        HOSTD_LOG(Warning, plugin,
                  held.threads != 0 ? "the plugin left threads running after its last stop (plugin.h: join your threads "
                                      "in stop); its image stays mapped, hot upgrades of this plugin are refused until "
                                      "hostd restarts"
                                    : "a destructor of the plugin's thread-specific keys is running; its image stays "
                                      "mapped, hot upgrades of this plugin are refused until hostd restarts",
                  {"threads", std::to_string(held.threads)}, {"content", image->content()});
        return false;
    }
    HOSTD_LOG(Warning, plugin,
              "old image is still mapped after unload; hot upgrades of this plugin are refused until hostd restarts",
              {"likely_cause", unique.empty() ? "NODELETE or live thread-local destructors" : "STB_GNU_UNIQUE symbols"},
              {"unique_symbols", joined(unique)}, {"content", image->content()});
    return false;
}

std::uint64_t InProcessExecutor::call(PluginCall which, PluginCode& code, const CallRequest& request) {
    auto& loaded = static_cast<LoadedImage&>(code);
    const hostd_type_descriptor* d = &loaded.image->descriptor();
    const hostd_type_context* ctx = request.context;
    std::string label = loaded.crashLabel;
    const char* name = callName(which);
    CallRunner::Job job;
    switch (which) {
    case PluginCall::Start:
    case PluginCall::Reload: {
        auto config = std::make_shared<CallConfig>(request.config, request.plugin);
        bool start = which == PluginCall::Start;
        job = [d, ctx, config, label, name, start] {
            CrashGuard::CallScope scope(label.c_str(), name);
            return invoke([&](hostd_type_message* m) {
                return start ? d->start(d->instance, ctx, config->get(), m) : d->reload(d->instance, ctx, config->get(), m);
            });
        };
        break;
    }
    case PluginCall::Stop: {
        auto deadlineNs = std::chrono::duration_cast<std::chrono::nanoseconds>(request.deadline.time_since_epoch()).count();
        job = [d, ctx, deadlineNs, label] {
            CrashGuard::CallScope scope(label.c_str(), "stop");
            return invoke([&](hostd_type_message* m) { return d->stop(d->instance, ctx, deadlineNs, m); });
        };
        break;
    }
    }
    // A plugin that installs its own crash handler would leave a later crash of any plugin
    // unattributed, or silent: hostd's go back as soon as the call returns, naming it.
    job = [job = std::move(job), plugin = request.plugin, name, label] {
        CallResult result = job();
        // A plugin that closed or replaced hostd's epoll, signalfd or eventfds leaves a loop that
        // would fail or hang later, blamed on whoever comes next: hostd says who, and leaves.
        if (auto broken = HostFds::check())
            CrashGuard::pluginBrokeHost(label, name, "closed or replaced " + broken->what + " (fd " +
                                                         std::to_string(broken->fd) + ")",
                                        kExitPluginBrokeHost);
        if (auto replaced = CrashGuard::reclaimHandlers(); !replaced.empty())
            HOSTD_LOG(Warning, plugin, std::string("hostd's crash handlers were replaced while the plugin's ") + name +
                                            " ran; restored (plugin.h: never install signal handlers)",
                      {"signals", joined(replaced)});
        return result;
    };
    return _calls.submit(StatusBoard::instance().attributed(request.plugin, name, std::move(job)));
}


}  // namespace hostd
