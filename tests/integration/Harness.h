#pragma once

#include "Process.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

/// Skips a test whose subject the ThreadSanitizer build does not have or cannot show (see
/// HOSTD_SANITIZE_THREAD in host/CMakeLists.txt): that build checks how hostd's threads meet.
#if defined(HOSTD_THREAD_SANITIZED_BUILD)
#define HOSTD_SKIP_UNDER_THREAD_SANITIZER(why) GTEST_SKIP() << "not under ThreadSanitizer: " << (why)
#else
#define HOSTD_SKIP_UNDER_THREAD_SANITIZER(why) static_cast<void>(why)
#endif

namespace hostd::test {

/// One line of the probe fixture's events file: "EVENT NAME MONOTONIC_NS PID".
struct Event {
    std::string kind;
    std::string name;
    long long ns = 0;
    int pid = 0;
};

/// Runs hostd on a temp dir: plugins/, hostd.conf, events and log files.
class HostdTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    std::string path(const std::string& name) const { return _dir + "/" + name; }
    const std::string& pluginDir() const { return _pluginDir; }
    const std::string& eventsPath() const { return _events; }
    const std::string& configPath() const { return _config; }

    void install(const std::string& name, const std::string& fixture = "probe") const;
        /// Copies fixture FIXTURE.so to plugins/NAME.so (mode 0644) by write-then-rename.

    std::string hostSection(const std::string& extra = "") const;
        /// "[hostd]\nplugin_dir = ...\n" plus extra lines.

    std::string controlSocket() const { return _dir + "/control.sock"; }
        /// The control_socket every test's hostd gets from controlDropin().
    std::string controlDropin() const { return _config + ".d/00-control-socket.conf"; }
        /// hostd.conf.d/00-control-socket.conf, written by SetUp(); remove it to configure the
        /// control socket in hostd.conf.

    std::string probeSection(const std::string& name, const std::string& extra = "") const;
        /// "[plugin.NAME]\nevents = ...\n" plus extra lines.

    void writeConfig(const std::string& text) const;
        /// Replaces hostd.conf atomically (write temp, rename), as editors do.

    HostdProcess& start(std::vector<std::string> extraArgs = {}, const std::vector<std::string>& extraEnv = {});
        /// Starts hostd --config=hostd.conf (unless extraArgs has a --config) with extra args.

    std::string log() const;
    int countLog(const std::string& needle) const;
    bool waitForLog(const std::string& needle, std::chrono::milliseconds timeout = 15s, int count = 1) const;
        /// Polls the log until needle occurs count times.

    std::vector<Event> events() const;
    std::vector<Event> events(const std::string& kind) const;
    bool waitForEvents(const std::function<bool(const std::vector<Event>&)>& done,
                       std::chrono::milliseconds timeout = 15s) const;

    std::optional<HostdProcess> _hostd;
    std::string _isolation;  ///< "process": controlDropin() isolates every plugin (BothIsolations).

private:
    std::string _dir, _pluginDir, _events, _config, _log;
};

/// A suite whose tests run twice: plugins in hostd's process, and each isolated in a runner
/// (isolation = process in [hostd], in controlDropin()), with the same assertions. One SDK, one .so, two modes.
/// Fixture: HostdTest or a class derived from it.
template <class Fixture>
class InBothIsolations : public Fixture, public ::testing::WithParamInterface<std::string> {
protected:
    void SetUp() override {
        this->_isolation = this->GetParam();
        Fixture::SetUp();
    }
};
using BothIsolations = InBothIsolations<HostdTest>;

std::string isolationName(const ::testing::TestParamInfo<std::string>& info);
    /// "InProcess" or "Isolated", for INSTANTIATE_TEST_SUITE_P.

#define HOSTD_IN_BOTH_ISOLATIONS(Suite) \
    INSTANTIATE_TEST_SUITE_P(, Suite, ::testing::Values(std::string("in-process"), std::string("process")), isolationName)

std::vector<std::string> names(const std::vector<Event>& events);
    /// The plugin names of events, in order.

}  // namespace hostd::test
