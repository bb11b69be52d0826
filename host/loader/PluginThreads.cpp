#include "PluginThreads.h"

#include "CrashGuard.h"

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <utility>

namespace hostd::PluginThreads {

namespace {

/// One plugin image's label, never freed: a thread or a destructor of it may outlive its image.
struct Owner {
    std::string label;
    std::atomic<std::size_t> threads{0};
};

// Never destroyed: threads the plugins left behind may still start and end during the exit.
std::mutex& gMutex = *new std::mutex;
std::map<std::string, Owner>& gOwners = *new std::map<std::string, Owner>;
std::atomic<std::size_t> gRunning{0};

/// With gMutex held.
Owner& ownerOf(const char* label) {
    auto [it, created] = gOwners.try_emplace(label);
    if (created) it->second.label = label;
    return it->second;
}

/// A thread-specific key whose destructor is a plugin's: glibc is given trampoline<slot>, which
/// calls the plugin's destructor only while dead is false. The running count and dead are the
/// two halves of a handshake with retire(): one of them always sees the other.
struct KeySlot {
    bool used = false;
    bool created = false;
    pthread_key_t key = 0;
    Owner* owner = nullptr;
    KeyDestructor destructor = nullptr;
    std::atomic<int> running{0};
    std::atomic<bool> dead{false};
};

constexpr std::size_t kKeySlots = 1024;  // glibc's PTHREAD_KEYS_MAX: one per key there can be
KeySlot gSlots[kKeySlots];

void callDestructor(KeySlot& slot, void* value) {
    slot.running.fetch_add(1);
    if (!slot.dead.load()) slot.destructor(value);  // else its image is gone: the value leaks
    slot.running.fetch_sub(1);
}

void reviveLocked(const Owner* owner) {
    for (KeySlot& s : gSlots)
        if (s.used && s.owner == owner) s.dead.store(false);
}

template <std::size_t I>
void trampoline(void* value) {
    callDestructor(gSlots[I], value);
}

template <std::size_t... I>
constexpr std::array<KeyDestructor, kKeySlots> trampolines(std::index_sequence<I...>) {
    return {&trampoline<I>...};
}
constexpr std::array<KeyDestructor, kKeySlots> kTrampolines = trampolines(std::make_index_sequence<kKeySlots>{});

}  // namespace

struct Start {
    Owner* owner;
    void* (*routine)(void*);
    void* arg;
};

const char* ownerOfNewThread(std::uintptr_t caller) noexcept {
    if (const char* plugin = CrashGuard::pluginAt(caller)) return plugin;
    return CrashGuard::currentPlugin();  // a library's (std::thread's) call in its callback or thread
}

Start* adopt(const char* label, void* (*routine)(void*), void* arg) {
    std::lock_guard lock(gMutex);  // retire() never lets go of an owner that is being counted
    Owner& owner = ownerOf(label);
    auto* start = new Start{&owner, routine, arg};
    owner.threads.fetch_add(1);
    gRunning.fetch_add(1);
    return start;
}

void abandon(Start* start) noexcept {
    start->owner->threads.fetch_sub(1);
    gRunning.fetch_sub(1);
    delete start;
}

void* run(void* raw) {
    Start start = *static_cast<Start*>(raw);
    delete static_cast<Start*>(raw);
    // pthread_exit unwinds through here too.
    struct Ended {
        Owner* owner;
        ~Ended() {
            owner->threads.fetch_sub(1);
            gRunning.fetch_sub(1);
        }
    } ended{start.owner};
    CrashGuard::CallScope scope(start.owner->label.c_str(), "own-thread");
    return start.routine(start.arg);
}

KeyDestructor keyDestructor(KeyDestructor destructor, int& slot) noexcept {
    slot = -1;
    const char* label = destructor != nullptr ? CrashGuard::pluginAt(reinterpret_cast<std::uintptr_t>(destructor)) : nullptr;
    if (label == nullptr) return destructor;
    try {
        std::lock_guard lock(gMutex);
        Owner& owner = ownerOf(label);
        for (std::size_t i = 0; i < kKeySlots; ++i) {
            KeySlot& s = gSlots[i];
            if (s.used || s.running.load() != 0) continue;  // a late destructor call may still read it
            s.used = true;
            s.created = false;
            s.owner = &owner;
            s.destructor = destructor;
            s.dead.store(false);
            slot = static_cast<int>(i);
            return kTrampolines[i];
        }
    } catch (const std::bad_alloc&) {
    }
    return destructor;  // no slot: as without hostd
}

void keyCreated(int slot, pthread_key_t key) noexcept {
    std::lock_guard lock(gMutex);
    gSlots[slot].created = true;
    gSlots[slot].key = key;
}

void keyNotCreated(int slot) noexcept {
    std::lock_guard lock(gMutex);
    gSlots[slot].used = false;
}

void keyDeleted(pthread_key_t key) noexcept {
    std::lock_guard lock(gMutex);
    for (KeySlot& s : gSlots)
        if (s.used && s.created && s.key == key) {
            s.used = false;
            return;
        }
}

Holds retire(const std::string& label) noexcept {
    Holds holds;
    std::lock_guard lock(gMutex);
    auto it = gOwners.find(label);
    if (it == gOwners.end()) return holds;  // it never made a thread or key
    Owner* owner = &it->second;
    holds.threads = owner->threads.load();
    if (holds.threads != 0) return holds;
    for (KeySlot& s : gSlots)
        if (s.used && s.owner == owner) s.dead.store(true);
    for (KeySlot& s : gSlots)
        if (s.used && s.owner == owner) holds.destructors += static_cast<std::size_t>(s.running.load());
    if (holds.destructors != 0) {
        reviveLocked(owner);
        return holds;
    }
    bool keys = false;
    for (const KeySlot& s : gSlots) keys = keys || (s.used && s.owner == owner);
    if (!keys) gOwners.erase(it);  // nothing refers to it any more: hot upgrades do not pile them up
    return holds;
}

void revive(const std::string& label) noexcept {
    std::lock_guard lock(gMutex);
    auto it = gOwners.find(label);
    if (it != gOwners.end()) reviveLocked(&it->second);
}

std::size_t keysLeft(const std::string& label) noexcept {
    std::lock_guard lock(gMutex);
    auto it = gOwners.find(label);
    std::size_t n = 0;
    if (it != gOwners.end())
        for (const KeySlot& s : gSlots) n += s.used && s.created && s.owner == &it->second ? 1 : 0;
    return n;
}

std::size_t running() noexcept { return gRunning.load(); }

}  // namespace hostd::PluginThreads
