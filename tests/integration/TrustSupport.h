#pragma once

#include "DaemonSupport.h"

#include <string>

namespace hostd::test {

/// A local attacker: another uid (nobody) on the same machine, acting with setpriv. The tests
/// of the trust rules run hostd as root, as the README's production layout does.
class Attacked : public HostdTest {
protected:
    static constexpr uid_t kAttacker = 65534;

    void SetUp() override;
        /// Skips unless root with setpriv (CI runs as root).

    CommandResult attacker(const std::string& shellCommand) const;
        /// Runs `sh -c shellCommand` as uid/gid 65534 without supplementary groups.

    std::string victim() const { return path("victim"); }
        /// A root-owned file (0644) the attacks aim at; victimIntact() says whether it still is.
    bool victimIntact() const;

    std::string directory(const std::string& name, mode_t mode) const;
        /// Makes path(name) with exactly mode (root-owned), returns it.
};

}  // namespace hostd::test
