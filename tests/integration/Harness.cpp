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

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (done()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
}

std::vector<std::string> names(const std::vector<Event>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.name);
    return out;
}

HostdProcess::HostdProcess(const std::vector<std::string>& args, const std::string& logPath) {
    std::vector<char*> argv;
    std::string binary = HOSTD_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    int logFd = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logFd < 0) throw std::runtime_error("cannot open " + logPath);
    _pid = ::fork();
    if (_pid == 0) {
        // The test runner may block signals; hostd must start from a clean mask like under
        // systemd or a shell.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        int devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
        ::dup2(logFd, 1);
        ::dup2(logFd, 2);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(logFd);
    if (_pid < 0) throw std::runtime_error("fork failed");
}

HostdProcess::~HostdProcess() {
    if (!_exit && _pid > 0) {
        ::kill(_pid, SIGKILL);
        int status = 0;
        ::waitpid(_pid, &status, 0);
    }
}

void HostdProcess::signal(int sig) const { ::kill(_pid, sig); }

bool HostdProcess::running() { return !waitExit(0ms).has_value(); }

std::optional<int> HostdProcess::waitExit(std::chrono::milliseconds timeout) {
    if (_exit) return _exit;
    waitUntil(
        [&] {
            int status = 0;
            pid_t r = ::waitpid(_pid, &status, WNOHANG);
            if (r == _pid) _exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            return _exit.has_value();
        },
        timeout);
    return _exit;
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
}

void HostdTest::TearDown() {
    _hostd.reset();
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

HostdProcess& HostdTest::start(std::vector<std::string> extraArgs) {
    std::vector<std::string> args;
    bool ownConfig = std::any_of(extraArgs.begin(), extraArgs.end(), [](auto& a) { return a.starts_with("--config="); });
    if (!ownConfig) args.push_back("--config=" + _config);
    args.insert(args.end(), extraArgs.begin(), extraArgs.end());
    _hostd.emplace(args, _log);
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
