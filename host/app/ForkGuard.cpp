// fork() of hostd's executable, which the dynamic linker binds plugins' calls to before libc's
// (the executable exports it, see host/CMakeLists.txt): the pid of a child a plugin forks is
// remembered with the plugin's name, so that a child still alive when hostd exits is named
// with the plugin that left it (Children.h). The child itself runs nothing of hostd's here.
#include "Children.h"
#include "PluginThreads.h"

#include <cstdint>
#include <dlfcn.h>
#include <exception>
#include <unistd.h>

extern "C" pid_t fork() {
    using Fork = pid_t (*)();
    static const Fork real = reinterpret_cast<Fork>(::dlsym(RTLD_NEXT, "fork"));
    const char* plugin = hostd::PluginThreads::ownerOfNewThread(reinterpret_cast<std::uintptr_t>(__builtin_return_address(0)));
    pid_t pid = real();
    if (pid > 0 && plugin != nullptr) try {
            hostd::forkedBy(pid, plugin);
        } catch (const std::exception&) {
            // Out of memory: the child is ended at exit all the same, without its plugin's name.
        }
    return pid;
}
