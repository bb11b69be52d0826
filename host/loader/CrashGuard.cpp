#include "CrashGuard.h"

#include "ExitCode.h"
#include "Log.h"
#include "TrustedPath.h"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <execinfo.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <ucontext.h>
#include <unistd.h>

namespace hostd::CrashGuard {

namespace {

constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
constexpr std::size_t kMaxImages = 4096;
constexpr std::size_t kNameMax = 208;

// The ranges are dense and apart from the names, and only slots below the high-water mark are
// ever looked at: registering the 500th image or finding an owner touches a few KiB, not the
// whole table.
struct ImageRange {
    std::atomic<std::uintptr_t> begin{0};  // 0: free. Written last, so a reader never sees a half slot.
    std::uintptr_t end = 0;
};

ImageRange gRanges[kMaxImages];
char gNames[kMaxImages][kNameMax];
std::atomic<std::size_t> gUsed{0};  // slots ever used; only grows
std::mutex gRegistry;               // serialises writers; the signal handler only reads
int gStateDir = -1;          // the checked state directory, or -1: no breadcrumb
char gBreadcrumbTmp[64] = {};  // the breadcrumb's own random name until it is complete
char gStateDirPath[4096] = {};  // to open it again if a plugin closed gStateDir
std::atomic<bool> gWritten{false};
thread_local const char* tPlugin = nullptr;
thread_local const char* tCallback = nullptr;
std::atomic<const char*> gImagePlugin{nullptr};  // ImageScope: for a SIGABRT landing on another thread
std::atomic<const char*> gImageWhat{nullptr};
std::atomic<const char*> gAbandonedImagePlugin{nullptr};  // abandonImageScope()

void append(char*& out, const char* end, const char* text) {
    while (*text != '\0' && out < end) *out++ = *text++;
}

/// The plugin whose image contains pc, or nullptr.
const char* owner(std::uintptr_t pc) {
    std::size_t used = gUsed.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < used; ++i) {
        std::uintptr_t b = gRanges[i].begin.load(std::memory_order_acquire);
        if (b != 0 && pc >= b && pc < gRanges[i].end) return gNames[i];
    }
    return nullptr;
}

void writeBreadcrumb(const char* plugin, const char* callback, const char* what) {
    if (gStateDir < 0 || gWritten.exchange(true)) return;
    char line[512];
    char* out = line;
    const char* end = line + sizeof line - 1;
    append(out, end, plugin != nullptr ? plugin : "-");
    append(out, end, " ");
    append(out, end, what);
    append(out, end, " ");
    append(out, end, callback != nullptr ? callback : "own-thread");
    append(out, end, "\n");
    int fd = ::openat(gStateDir, gBreadcrumbTmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0) return;
    [[maybe_unused]] ssize_t n = ::write(fd, line, static_cast<std::size_t>(out - line));
    ::close(fd);
    ::renameat(gStateDir, gBreadcrumbTmp, gStateDir, kBreadcrumbFile);
}

const char* signalName(int sig) {
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    }
    return "signal";
}

void onFatalSignal(int sig, siginfo_t* info, void* context) {
    const char* plugin = tPlugin;
    const char* callback = tCallback;
    // Sent by another process (kill, tgkill: si_code <= 0; not abort(), whose sender is us): the
    // watchdog's "your main loop is stuck", stuck in the image being loaded or unloaded if there
    // is one, whichever thread (one running some other plugin's callback, say) it lands on.
    // Each atomic read once: the scope may end meanwhile (then the label is the one just done).
    const char* imagePlugin = gImagePlugin.load();
    const char* imageWhat = gImageWhat.load();
    bool external = sig == SIGABRT && info != nullptr && info->si_code <= 0 && info->si_pid != ::getpid();
    if (external && imagePlugin != nullptr) {
        plugin = imagePlugin;
        callback = imageWhat != nullptr ? imageWhat : "load";
    }
    if (external && plugin != nullptr && plugin == gAbandonedImagePlugin.load()) plugin = callback = nullptr;
    if (plugin == nullptr && context != nullptr) {
#if defined(__x86_64__)
        auto pc = static_cast<std::uintptr_t>(static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
        auto pc = static_cast<std::uintptr_t>(static_cast<ucontext_t*>(context)->uc_mcontext.pc);
#else
        std::uintptr_t pc = 0;
#endif
        plugin = owner(pc);
    }
    writeBreadcrumb(plugin, callback, signalName(sig));
    // Default action, then the same signal again: a core dump and the usual exit status.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ::sigaction(sig, &dfl, nullptr);
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, sig);
    ::pthread_sigmask(SIG_UNBLOCK, &unblock, nullptr);
    ::raise(sig);
}

std::atomic<bool> gHostExiting{false};

/// The plugin the calling thread runs code of: its callback's, else the first image on its
/// stack, or nullptr.
const char* pluginOnThisStack() {
    if (tPlugin != nullptr) return tPlugin;
    void* frames[64];
    int n = ::backtrace(frames, 64);
    const char* plugin = nullptr;
    for (int i = 0; i < n && plugin == nullptr; ++i) plugin = owner(reinterpret_cast<std::uintptr_t>(frames[i]));
    return plugin;
}

void onExit() {
    // exit() from anywhere but hostd's own way out: plugin code (the only other code that runs
    // here). Its status would pass for one of hostd's exit codes (3 is "a stop failed").
    if (gHostExiting.load()) return;
    const char* plugin = pluginOnThisStack();
    const char* callback = tPlugin != nullptr ? tCallback : nullptr;
    std::string label = plugin != nullptr ? plugin : "";  // NAME@SHA256
    std::string name = label.substr(0, label.find('@'));
    HOSTD_LOG(Error, name, "plugin code called exit(); hostd leaves without a drain (plugin.h: never call exit)",
              {"callback", callback != nullptr ? callback : "own-thread"},
              {"content", label.find('@') == std::string::npos ? "" : label.substr(label.find('@') + 1)},
              {"exit_code", std::to_string(kExitPluginExit)});
    writeBreadcrumb(plugin, callback, "exit");
    ::_exit(kExitPluginExit);
}

void onTerminate() {
    // A plugin's exception escaping its own thread (or a callback) ends here: the thread is
    // still the one that threw, so its marker, or else the throw site, names the plugin.
    // GCC calls terminate before unwinding when an exception leaves a thread's function, so the
    // throwing frames are still on the stack: the first one inside a plugin image names it.
    const char* plugin = tPlugin;
    if (plugin == nullptr) {
        void* frames[64];
        int n = ::backtrace(frames, 64);
        for (int i = 0; i < n && plugin == nullptr; ++i) plugin = owner(reinterpret_cast<std::uintptr_t>(frames[i]));
    }
    writeBreadcrumb(plugin, tCallback, "terminate");
    std::abort();
}

}  // namespace

void install(int stateDirFd, const std::string& stateDir) {
    std::snprintf(gStateDirPath, sizeof gStateDirPath, "%s", stateDir.c_str());
    if (stateDirFd >= 0) {
        std::snprintf(gBreadcrumbTmp, sizeof gBreadcrumbTmp, "%s", TrustedPath::temporaryName(kBreadcrumbFile).c_str());
        gStateDir = ::fcntl(stateDirFd, F_DUPFD_CLOEXEC, 0);
    }
    static AltStack mainThreadStack;
    void* warm[1];
    ::backtrace(warm, 1);  // loads libgcc now, not inside the terminate handler
    struct sigaction sa {};
    sa.sa_sigaction = &onFatalSignal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (int sig : kSignals) ::sigaction(sig, &sa, nullptr);
    std::set_terminate(&onTerminate);
    std::atexit(&onExit);
}

std::vector<std::string> reclaimHandlers() {
    std::vector<std::string> replaced;
    for (int sig : kSignals) {
        struct sigaction now {};
        if (::sigaction(sig, nullptr, &now) != 0) continue;
        if ((now.sa_flags & SA_SIGINFO) && now.sa_sigaction == &onFatalSignal) continue;
        struct sigaction ours {};
        ours.sa_sigaction = &onFatalSignal;
        ours.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&ours.sa_mask);
        ::sigaction(sig, &ours, nullptr);
        replaced.emplace_back(signalName(sig));
    }
    return replaced;
}

void pluginBrokeHost(const std::string& crashLabel, const char* callback, const std::string& what, int exitCode) {
    std::string name = crashLabel.substr(0, crashLabel.find('@'));
    HOSTD_LOG(Error, name, "plugin code " + what + "; hostd cannot go on and leaves without a drain", {"callback", callback},
              {"exit_code", std::to_string(exitCode)});
    struct stat st {};
    if (gStateDir >= 0 && ::fstat(gStateDir, &st) != 0 && gStateDirPath[0] != '\0')  // closed by the plugin too
        gStateDir = ::open(gStateDirPath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    writeBreadcrumb(crashLabel.c_str(), callback, "broke-host");
    gHostExiting.store(true);
    ::_exit(exitCode);
}

void markHostExiting() noexcept { gHostExiting.store(true); }

const char* pluginAt(std::uintptr_t pc) noexcept { return owner(pc); }

const char* currentPlugin() noexcept { return tPlugin; }

const char* currentCallback() noexcept { return tCallback; }

constexpr std::size_t kAltStackSize = 64 * 1024;

AltStack::AltStack() noexcept {
    void* mem = ::mmap(nullptr, kAltStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return;
    stack_t ss{};
    ss.ss_sp = mem;
    ss.ss_size = kAltStackSize;
    if (::sigaltstack(&ss, nullptr) != 0) {
        ::munmap(mem, kAltStackSize);
        return;
    }
    _mem = mem;
}

AltStack::~AltStack() {
    if (_mem == nullptr) return;
    stack_t ss{};
    ss.ss_flags = SS_DISABLE;
    ::sigaltstack(&ss, nullptr);  // a signal from here on runs on the thread's own stack
    ::munmap(_mem, kAltStackSize);
}

CallScope::CallScope(const char* plugin, const char* callback) noexcept
    : _previousPlugin(tPlugin), _previousCallback(tCallback) {
    tPlugin = plugin;
    tCallback = callback;
}

CallScope::~CallScope() {
    tPlugin = _previousPlugin;
    tCallback = _previousCallback;
}

ImageScope::ImageScope(const char* plugin, const char* what) noexcept
    : _call(plugin, what), _previousPlugin(gImagePlugin.exchange(plugin)), _previousWhat(gImageWhat.exchange(what)) {}

void abandonImageScope() noexcept {
    gAbandonedImagePlugin.store(gImagePlugin.exchange(nullptr));
    gImageWhat.store(nullptr);
}

ImageScope::~ImageScope() {
    gImageWhat.store(_previousWhat);
    gImagePlugin.store(_previousPlugin);
}

void registerImage(const std::string& plugin, std::uintptr_t begin, std::uintptr_t end) {
    std::lock_guard<std::mutex> lock(gRegistry);
    std::size_t used = gUsed.load(std::memory_order_relaxed);
    std::size_t i = 0;
    while (i < used && gRanges[i].begin.load(std::memory_order_relaxed) != 0) ++i;
    if (i == kMaxImages) return;  // attribution by address ends here; by callback still works
    gRanges[i].end = end;
    std::snprintf(gNames[i], kNameMax, "%s", plugin.c_str());
    gRanges[i].begin.store(begin, std::memory_order_release);
    if (i == used) gUsed.store(used + 1, std::memory_order_release);
}

void unregisterImage(std::uintptr_t begin) {
    std::lock_guard<std::mutex> lock(gRegistry);
    std::size_t used = gUsed.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < used; ++i)
        if (gRanges[i].begin.load(std::memory_order_relaxed) == begin) {
            gRanges[i].begin.store(0, std::memory_order_release);
            return;
        }
}

}  // namespace hostd::CrashGuard
