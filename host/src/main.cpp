#include "EventLoop.h"
#include "ExitCode.h"
#include "HostApplication.h"

#include <Poco/Exception.h>

#include <iostream>

int main(int argc, char** argv) {
    // Before any thread exists (DESIGN.md section 1): every later thread, Poco's and the
    // plugins', inherits the mask, and the Supervisor consumes the signals from a signalfd.
    hostd::blockHostSignals();
    try {
        hostd::HostApplication app;
        int code = app.run(argc, argv);
        // Poco reports a rejected command line (unknown option, missing argument) as
        // EXIT_CONFIG; hostd reserves 78 for configuration errors.
        if (code == Poco::Util::Application::EXIT_CONFIG && app.commandLineRejected())
            return hostd::kExitUsage;
        return code;
    } catch (const Poco::Exception& e) {
        std::cerr << "hostd: " << e.displayText() << "\n";
        return hostd::kExitSoftware;
    } catch (const std::exception& e) {
        std::cerr << "hostd: " << e.what() << "\n";
        return hostd::kExitSoftware;
    }
}
