#include "SdkTestSupport.h"

#include "Process.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace hostd::test {

ToolRun runPluginCheck(const std::vector<std::string>& args) {
    TempDir dir("hostd-sdk-test");
    std::string outPath = dir.file("out"), errPath = dir.file("err");
    std::vector<std::string> argv{HOSTD_PLUGIN_CHECK};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        // O_CLOEXEC: only the dup2 copies (1 and 2) reach the tool.
        int out = ::open(outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int err = ::open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ::dup2(out, 1);
        ::dup2(err, 2);
        ::execv(cargv[0], cargv.data());
        ::_exit(127);
    }
    ToolRun run;
    bool exited = waitUntil(
        [&] {
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) != pid) return false;
            run.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            return true;
        },
        std::chrono::minutes(1));
    if (!exited) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }
    run.out = readFile(outPath);
    run.err = readFile(errPath);
    return run;
}

std::map<std::string, Verdict> parseChecks(const std::string& json) {
    Poco::JSON::Parser parser;
    auto root = parser.parse(json).extract<Poco::JSON::Object::Ptr>();
    std::map<std::string, Verdict> out;
    auto checks = root->getArray("checks");
    for (std::size_t i = 0; i < checks->size(); ++i) {
        auto c = checks->getObject(static_cast<unsigned>(i));
        out[c->getValue<std::string>("id")] = {c->getValue<std::string>("status"), c->getValue<std::string>("reason")};
    }
    return out;
}

std::string fixture(const std::string& name) { return std::string(HOSTD_FIXTURE_DIR) + "/" + name + ".so"; }

}  // namespace hostd::test
