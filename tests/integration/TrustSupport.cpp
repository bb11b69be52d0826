#include "TrustSupport.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace hostd::test {

namespace {
constexpr const char* kVictimText = "root-owned, precious\n";
}

void Attacked::SetUp() {
    if (!runningAsRoot() || !haveCommand("setpriv")) GTEST_SKIP() << "the attacks need root and setpriv (CI runs as root)";
    HostdTest::SetUp();
    std::ofstream(victim()) << kVictimText;
    ::chmod(victim().c_str(), 0644);
}

CommandResult Attacked::attacker(const std::string& shellCommand) const {
    return runCommand({"setpriv", "--reuid=" + std::to_string(kAttacker), "--regid=" + std::to_string(kAttacker),
                       "--clear-groups", "sh", "-c", shellCommand});
}

bool Attacked::victimIntact() const {
    std::ifstream in(victim());
    std::stringstream ss;
    ss << in.rdbuf();
    struct stat st {};
    return ss.str() == kVictimText && ::lstat(victim().c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           (st.st_mode & 07777) == 0644 && st.st_uid == 0;
}

std::string Attacked::directory(const std::string& name, mode_t mode) const {
    std::string p = path(name);
    std::filesystem::create_directories(p);
    ::chmod(p.c_str(), mode);
    return p;
}

}  // namespace hostd::test
