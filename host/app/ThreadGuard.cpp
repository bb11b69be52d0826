// pthread_create(), pthread_key_create() and pthread_key_delete() of hostd's executable, which
// the dynamic linker binds everyone's calls to before libc's (the executable exports them, see
// host/CMakeLists.txt): threads and keys of plugins are counted and watched by PluginThreads, so
// that no image is unmapped under a thread it left running or a key destructor of it. Everyone
// else's go straight to the next definition (libc's, or a sanitizer's).
#include "PluginThreads.h"

#include <cerrno>
#include <cstdint>
#include <dlfcn.h>
#include <new>
#include <pthread.h>

namespace {

using CreateThread = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);
using CreateKey = int (*)(pthread_key_t*, void (*)(void*));
using DeleteKey = int (*)(pthread_key_t);

template <class Function>
Function next(const char* name) {
    return reinterpret_cast<Function>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*routine)(void*), void* arg) {
    static const CreateThread real = next<CreateThread>("pthread_create");
    const char* plugin = hostd::PluginThreads::ownerOfNewThread(reinterpret_cast<std::uintptr_t>(__builtin_return_address(0)));
    if (plugin == nullptr) return real(thread, attr, routine, arg);
    hostd::PluginThreads::Start* start = nullptr;
    try {
        start = hostd::PluginThreads::adopt(plugin, routine, arg);
    } catch (const std::bad_alloc&) {
        return EAGAIN;
    }
    int rc = real(thread, attr, &hostd::PluginThreads::run, start);
    if (rc != 0) hostd::PluginThreads::abandon(start);
    return rc;
}

extern "C" int pthread_key_create(pthread_key_t* key, void (*destructor)(void*)) {
    static const CreateKey real = next<CreateKey>("pthread_key_create");
    int slot = -1;
    int rc = real(key, hostd::PluginThreads::keyDestructor(destructor, slot));
    if (slot >= 0) {
        if (rc == 0)
            hostd::PluginThreads::keyCreated(slot, *key);
        else
            hostd::PluginThreads::keyNotCreated(slot);
    }
    return rc;
}

extern "C" int pthread_key_delete(pthread_key_t key) {
    static const DeleteKey real = next<DeleteKey>("pthread_key_delete");
    int rc = real(key);
    if (rc == 0) hostd::PluginThreads::keyDeleted(key);
    return rc;
}
