// hello: the smallest useful hostd plugin. Copy this directory to start your own; the
// rules every plugin follows are in docs/writing-plugins.md (installed with the SDK).
#include <hostd/plugin.hpp>

#include <string>

namespace {

class Hello : public hostd::Plugin {
public:
    using hostd::Plugin::Plugin;

    void start(const hostd::Config& config) override { greet(config); }
        /// Runs on a host thread; throw (e.g. hostd::ConfigError) to fail with a message.

    void reload(const hostd::Config& config) override { greet(config); }
        /// Called on SIGHUP when this plugin's section changed.

    void stop(hostd::Deadline) override { context().info("goodbye, " + _who); }
        /// Must return before the deadline, with every thread it started joined.

private:
    void greet(const hostd::Config& config) {
        _who = config.getString("who", "world");  // copy: the config is only valid during the call
        context().info("hello, " + _who);
    }

    std::string _who;
};

}  // namespace

// Version, description, then the plugins to start after (none here).
HOSTD_PLUGIN(Hello, "1.0.0", "Says hello")
