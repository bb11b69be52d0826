#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hostd {

/// Crash attribution (issue: fault containment). A fatal signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
/// SIGABRT) or std::terminate anywhere in the process is attributed to a plugin, written as a
/// breadcrumb file, and then takes its default course (core dump, exit status by signal).
/// Attribution: the plugin whose callback the crashing thread is running (marked by CallScope),
/// else the plugin whose image contains the crashing instruction (its own threads).
/// Everything the handler touches is preallocated; it only calls async-signal-safe functions.
namespace CrashGuard {

constexpr const char* kBreadcrumbFile = "crash.breadcrumb";

void install(int stateDirFd, const std::string& stateDir = {});
    /// Installs the handlers (on an alternate stack), std::terminate's handler, and a watch on
    /// exit(): a plugin that calls it (plugin.h forbids it) is named in the log and the
    /// breadcrumb ("exit" in its callback, counted like a crash), and hostd leaves with
    /// kExitPluginExit instead of a code of the plugin's choosing. Call once,
    /// from the main thread, before plugins are loaded. The breadcrumb is written in the state
    /// directory open as stateDirFd (checked by CrashHistory; duplicated here), as a new file
    /// under a random name (O_EXCL, O_NOFOLLOW) renamed to kBreadcrumbFile: never through a
    /// link planted there; stateDir, its path, opens it again if a plugin closed the
    /// descriptor. -1 disables the breadcrumb.

/// Gives the calling thread its own alternate signal stack for its lifetime, so that a stack
/// overflow in a plugin callback is still attributed. One per host call thread.
class AltStack {
public:
    AltStack() noexcept;
    ~AltStack();
    AltStack(const AltStack&) = delete;
    AltStack& operator=(const AltStack&) = delete;

private:
    void* _mem = nullptr;
};

/// Marks the calling thread as running a plugin callback for its lifetime.
class CallScope {
public:
    CallScope(const char* plugin, const char* callback) noexcept;
    ~CallScope();
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;

private:
    const char* _previousPlugin;
    const char* _previousCallback;
};

/// Marks the calling thread (the main loop's) as running a plugin's code outside any callback:
/// its constructors in dlopen, its destructors in dlclose. A crash there is attributed like a
/// callback's ("load", "unload"), and so is a SIGABRT sent by another process meanwhile, on
/// whichever thread it lands: systemd sends it when a constructor that never returns stalls the
/// main loop (the watchdog, or TimeoutStartFailureMode=abort before hostd is ready). Attributed,
/// such a plugin is quarantined after crash_quarantine runs instead of hanging or crashing every
/// start.
class ImageScope {
public:
    ImageScope(const char* plugin, const char* what) noexcept;
    ~ImageScope();
    ImageScope(const ImageScope&) = delete;
    ImageScope& operator=(const ImageScope&) = delete;

private:
    CallScope _call;
    const char* _previousPlugin;
    const char* _previousWhat;
};

void abandonImageScope() noexcept;
    /// The image scope under way belongs to a load or unload the loop has left behind
    /// (LoadWatch.h), counted already: a SIGABRT sent from outside from now on is not blamed on
    /// it, neither through the scope nor on the stuck thread, whose own scope names it too.

std::vector<std::string> reclaimHandlers();
    /// Reinstalls hostd's fatal-signal handlers where something (a plugin) replaced them, and
    /// returns the names of the signals it had to ("SIGSEGV", ...), for the caller to say whose
    /// call just ran. Main loop; cheap (one sigaction per signal).

const char* pluginAt(std::uintptr_t pc) noexcept;
    /// The crash label ("NAME@SHA256") of the plugin whose image holds pc, or nullptr.
const char* currentPlugin() noexcept;
    /// The crash label of the plugin whose callback or thread (CallScope) the calling thread
    /// runs, or nullptr.
const char* currentCallback() noexcept;
    /// The callback the calling thread runs ("start", ...), or nullptr outside one.

[[noreturn]] void pluginBrokeHost(const std::string& crashLabel, const char* callback, const std::string& what,
                                  int exitCode);
    /// A plugin's call did something hostd cannot run on after (closed one of its descriptors):
    /// logs it, naming the plugin, the callback and what, writes the breadcrumb (counted like a
    /// crash) and ends the process with exitCode.

void markHostExiting() noexcept;
    /// hostd itself is leaving through exit(): the exit() watch (install()) stands down.

void registerImage(const std::string& plugin, std::uintptr_t begin, std::uintptr_t end);
    /// Records the address range of a plugin's loaded image.
void unregisterImage(std::uintptr_t begin);

}  // namespace CrashGuard

/// A breadcrumb left by a crashed run: which plugin, which signal, in which callback.
struct CrashBreadcrumb {
    std::string plugin;    ///< Empty if the crash was not attributed to a plugin.
    std::string signal;    ///< "SIGSEGV", ..., or "terminate".
    std::string callback;  ///< "start", "stop", "reload", or "own-thread".
};

}  // namespace hostd
