// close(), close_range(), dup2() and dup3() of hostd's executable, which the dynamic linker
// binds plugins' calls to before libc's (the executable exports them, see host/CMakeLists.txt):
// a plugin that closes or replaces one of hostd's own descriptors (HostFds.h) is stopped right
// there, before the descriptor goes, and named precisely by the code that called (its image
// holds the return address). Everything else goes straight to the kernel, as libc's would.
#include "CrashGuard.h"
#include "ExitCode.h"
#include "HostFds.h"

#include <cstdint>
#include <fcntl.h>
#include <string>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

/// The plugin whose code made the call, or nullptr for hostd's own code and libraries (the
/// check after each call covers what those do on a plugin's behalf). Takes no lock, so hostd's
/// own close() (a crash handler's included) never waits for the watch list.
const char* callingPlugin(void* caller) noexcept {
    return hostd::CrashGuard::pluginAt(reinterpret_cast<std::uintptr_t>(caller));
}

void refuseIfHostFd(const char* plugin, int fd, const char* how) {
    const char* what = hostd::HostFds::watched(fd);
    if (what == nullptr) return;
    const char* callback = hostd::CrashGuard::currentCallback();
    hostd::CrashGuard::pluginBrokeHost(plugin, callback != nullptr ? callback : "own-thread",
                                       std::string(how) + " " + what + " (fd " + std::to_string(fd) + ")",
                                       hostd::kExitPluginBrokeHost);
}

}  // namespace

extern "C" int close(int fd) {
    if (const char* plugin = callingPlugin(__builtin_return_address(0))) refuseIfHostFd(plugin, fd, "closed");
    return static_cast<int>(::syscall(SYS_close, fd));
}

extern "C" int close_range(unsigned int first, unsigned int last, int flags) {
    const char* plugin = callingPlugin(__builtin_return_address(0));
    if (plugin != nullptr && (flags & CLOSE_RANGE_CLOEXEC) == 0)
        for (unsigned int fd = first; fd <= last && fd < 65536; ++fd) refuseIfHostFd(plugin, static_cast<int>(fd), "closed");
    return static_cast<int>(::syscall(SYS_close_range, first, last, flags));
}

extern "C" int dup3(int oldfd, int newfd, int flags) {
    if (const char* plugin = callingPlugin(__builtin_return_address(0))) refuseIfHostFd(plugin, newfd, "replaced");
    return static_cast<int>(::syscall(SYS_dup3, oldfd, newfd, flags));
}

extern "C" int dup2(int oldfd, int newfd) {
    if (oldfd == newfd) return ::fcntl(oldfd, F_GETFD) < 0 ? -1 : newfd;
    if (const char* plugin = callingPlugin(__builtin_return_address(0))) refuseIfHostFd(plugin, newfd, "replaced");
    return static_cast<int>(::syscall(SYS_dup3, oldfd, newfd, 0));
}
