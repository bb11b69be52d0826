#pragma once

#include <Poco/Util/ServerApplication.h>

#include <optional>
#include <string>

namespace hostd {

/// The hostd daemon. main() reads like the lifecycle: load the configuration, load and start
/// the plugins, serve signals, drain, exit with a code that says how the drain went.
class HostApplication : public Poco::Util::ServerApplication {
public:
    HostApplication();

    bool commandLineRejected() const noexcept { return !_mainEntered; }
        /// True if Poco's option processing failed, so main() never ran and run()'s
        /// EXIT_CONFIG means a usage error.

protected:
    void defineOptions(Poco::Util::OptionSet& options) override;
    void handleOption(const std::string& name, const std::string& value) override;
    int main(const std::vector<std::string>& args) override;

private:
    void printHelp();

    std::string _configPath = "/etc/hostd.conf";
    bool _configExplicit = false;
    std::optional<std::string> _pluginDir;
    bool _checkConfig = false;
    bool _verbose = false;
    bool _helpRequested = false;
    bool _versionRequested = false;
    bool _usageError = false;
    bool _mainEntered = false;
};

}  // namespace hostd
