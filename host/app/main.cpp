#include "CrashGuard.h"
#include "EventLoop.h"
#include "ExitCode.h"
#include "HostApplication.h"

#include <Poco/Exception.h>

#include <iostream>

int main(int argc, char** argv) {
    // Before any thread exists (DESIGN.md sections 1 and 5): every later thread, Poco's and
    // the plugins', inherits the mask, and the Supervisor consumes the signals from a
    // signalfd. The same holds for what HostApplication does before the plugins load:
    // --daemon forks, and privileges are dropped, while this is still the only thread.
    hostd::blockHostSignals();
    // Returning from main is hostd's own exit(); any other is plugin code's (CrashGuard.h).
    struct OwnExit {
        ~OwnExit() { hostd::CrashGuard::markHostExiting(); }
    } ownExit;
    try {
        hostd::HostApplication app;
        return app.run(argc, argv);
    } catch (const Poco::Exception& e) {
        std::cerr << "hostd: " << e.displayText() << "\n";
        return hostd::kExitSoftware;
    } catch (const std::exception& e) {
        std::cerr << "hostd: " << e.what() << "\n";
        return hostd::kExitSoftware;
    }
}
