#pragma once

#include <cstddef>
#include <cstdint>
#include <pthread.h>
#include <string>

namespace hostd {

/// What of a plugin can still run once its calls are over (plugin.h: join your threads in stop,
/// delete your thread-specific keys): the threads it started, and the destructors of the
/// thread-specific keys it created, which glibc runs as any thread exits. An image is never
/// unmapped while either can still run its code: a thread left behind keeps it mapped (the
/// plugin goes stale), and a destructor called after the image is gone is skipped instead.
///
/// hostd's executable puts its own pthread_create(), pthread_key_create() and
/// pthread_key_delete() before libc's (app/ThreadGuard.cpp), so this sees every thread and key
/// a plugin makes, directly or through a library (std::thread, Poco): a thread belongs to the
/// plugin whose code called, or whose callback or thread the caller runs in. Thread-safe.
namespace PluginThreads {

const char* ownerOfNewThread(std::uintptr_t caller) noexcept;
    /// The crash label ("NAME@SHA256") of the plugin a thread created now, from caller, belongs
    /// to; nullptr for hostd's own threads.

struct Start;
Start* adopt(const char* label, void* (*routine)(void*), void* arg);
    /// Counts a thread of label's about to be created; the thread must run run(start) instead of
    /// routine(arg). Throws std::bad_alloc.
void* run(void* start);
    /// The start routine of an adopted thread: runs the plugin's, marked as its own thread for
    /// crash attribution (and the threads it creates as the plugin's), and counts it ended when
    /// the plugin's routine returns or the thread exits through pthread_exit.
void abandon(Start* start) noexcept;
    /// The thread adopt() counted was not created after all.

using KeyDestructor = void (*)(void*);
KeyDestructor keyDestructor(KeyDestructor destructor, int& slot) noexcept;
    /// For a key about to be created with destructor: if destructor is a plugin's code, the
    /// destructor to give glibc instead (hostd's, which calls the plugin's only while its image
    /// is mapped) and slot >= 0, for keyCreated(); else destructor itself and slot -1.
void keyCreated(int slot, pthread_key_t key) noexcept;
    /// The key is created (slot from keyDestructor).
void keyNotCreated(int slot) noexcept;
    /// pthread_key_create() failed: the slot is free again.
void keyDeleted(pthread_key_t key) noexcept;
    /// After pthread_key_delete(): its slot is free again.

struct Holds {
    std::size_t threads = 0;      ///< Threads of the plugin's still running.
    std::size_t destructors = 0;  ///< Its key destructors running right now.
    explicit operator bool() const noexcept { return threads != 0 || destructors != 0; }
};
Holds retire(const std::string& label) noexcept;
    /// Just before label's image is unmapped: what of it still runs. Nothing: from now on its key
    /// destructors are skipped, and the image may go. Else nothing changes and it must stay.
void revive(const std::string& label) noexcept;
    /// The image retire() let go of stayed mapped after all (dlclose did not unmap it): its key
    /// destructors run again.
std::size_t keysLeft(const std::string& label) noexcept;
    /// Keys with label's destructors not deleted (once retired: destructors that will be skipped).
std::size_t running() noexcept;
    /// Threads of any plugin's still running: then hostd leaves with _Exit, as with an abandoned
    /// call, since static destructors would run under them.

}  // namespace PluginThreads

}  // namespace hostd
