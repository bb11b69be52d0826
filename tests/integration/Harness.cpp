#include "Harness.h"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace hostd::test {

std::vector<std::string> names(const std::vector<Event>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.name);
    return out;
}

void HostdTest::SetUp() {
    char tmpl[] = "/tmp/hostd-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    _dir = tmpl;
    ::chmod(_dir.c_str(), 0755);
    _pluginDir = _dir + "/plugins";
    ASSERT_EQ(::mkdir(_pluginDir.c_str(), 0755), 0);
    _events = _dir + "/events";
    _config = _dir + "/hostd.conf";
    _log = _dir + "/hostd.log";
    // A control socket of each test's own: tests run in parallel and must never meet on the
    // default /run/hostd/control.sock. In a drop-in, so that hostd.conf's line numbers (which
    // tests assert) stay as the test wrote them.
    ASSERT_EQ(::mkdir((_config + ".d").c_str(), 0755), 0);
    // BothIsolations: isolation = process there too, for the same reason.
    std::ofstream(controlDropin()) << "[hostd]\ncontrol_socket = " << controlSocket() << "\n"
                                   << (_isolation == "process" ? "isolation = process\n" : "");
}

void HostdTest::TearDown() {
    _hostd.reset();
    // Every state change of every test's hostd is one the lifecycle table has (Lifecycle.h).
    EXPECT_EQ(countLog("the lifecycle has no such transition"), 0) << "a transition missing from kTransitions";
    if (HasFailure()) {
        std::cerr << "---- hostd log (" << _log << ") ----\n" << log() << "---- events ----\n" << readFile(_events);
        return;  // keep the directory for a post-mortem
    }
    std::error_code ec;
    fs::remove_all(_dir, ec);
}

void HostdTest::install(const std::string& name, const std::string& fixture) const {
    std::string tmp = _pluginDir + "/." + name + ".tmp";
    fs::copy_file(std::string(HOSTD_FIXTURE_DIR) + "/" + fixture + ".so", tmp, fs::copy_options::overwrite_existing);
    ::chmod(tmp.c_str(), 0644);
    fs::rename(tmp, _pluginDir + "/" + name + ".so");
}

std::string HostdTest::hostSection(const std::string& extra) const {
    return "[hostd]\nplugin_dir = " + _pluginDir + "\n" + extra + "\n";
}

std::string isolationName(const ::testing::TestParamInfo<std::string>& info) {
    return info.param == "process" ? "Isolated" : "InProcess";
}

std::string HostdTest::probeSection(const std::string& name, const std::string& extra) const {
    return "[plugin." + name + "]\nevents = " + _events + "\n" + extra + "\n";
}

void HostdTest::writeConfig(const std::string& text) const {
    std::string tmp = _config + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << text;
    }
    fs::rename(tmp, _config);
}

HostdProcess& HostdTest::start(std::vector<std::string> extraArgs, const std::vector<std::string>& extraEnv) {
    std::vector<std::string> args;
    bool ownConfig = std::any_of(extraArgs.begin(), extraArgs.end(), [](auto& a) { return a.starts_with("--config="); });
    if (!ownConfig) args.push_back("--config=" + _config);
    args.insert(args.end(), extraArgs.begin(), extraArgs.end());
    _hostd.emplace(args, _log, extraEnv);
    return *_hostd;
}

std::string HostdTest::log() const { return readFile(_log); }

int HostdTest::countLog(const std::string& needle) const {
    std::string text = log();
    int n = 0;
    for (std::size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) ++n;
    return n;
}

bool HostdTest::waitForLog(const std::string& needle, std::chrono::milliseconds timeout, int count) const {
    return waitUntil([&] { return countLog(needle) >= count; }, timeout);
}

std::vector<Event> HostdTest::events() const {
    std::vector<Event> out;
    std::istringstream in(readFile(_events));
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        Event e;
        if (fields >> e.kind >> e.name >> e.ns >> e.pid) out.push_back(e);
    }
    return out;
}

std::vector<Event> HostdTest::events(const std::string& kind) const {
    std::vector<Event> out;
    for (auto& e : events())
        if (e.kind == kind) out.push_back(e);
    return out;
}

bool HostdTest::waitForEvents(const std::function<bool(const std::vector<Event>&)>& done,
                              std::chrono::milliseconds timeout) const {
    return waitUntil([&] { return done(events()); }, timeout);
}

}  // namespace hostd::test
