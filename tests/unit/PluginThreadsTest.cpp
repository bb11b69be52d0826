// PluginThreads: a plugin's threads are counted while they run, and its key destructors run only
// until its image is retired. A fake image range, registered with CrashGuard, stands for the
// plugin's code: the destructor below lies in it.
#include "CrashGuard.h"
#include "PluginThreads.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <future>
#include <pthread.h>
#include <string>
#include <thread>

namespace hostd {
namespace {

std::atomic<int> gDestroyed{0};

void countingDestructor(void*) { gDestroyed.fetch_add(1); }

/// The destructor's address, registered as the image of the plugin `label` for the test's life.
class FakeImage {
public:
    explicit FakeImage(std::string label) : _label(std::move(label)) {
        CrashGuard::registerImage(_label, begin(), begin() + 1);
    }
    ~FakeImage() { CrashGuard::unregisterImage(begin()); }
    const std::string& label() const { return _label; }

private:
    static std::uintptr_t begin() { return reinterpret_cast<std::uintptr_t>(&countingDestructor); }
    std::string _label;
};

/// Creates a key for countingDestructor as app/ThreadGuard.cpp does.
pthread_key_t createKey() {
    int slot = -1;
    PluginThreads::KeyDestructor given = PluginThreads::keyDestructor(&countingDestructor, slot);
    EXPECT_GE(slot, 0);
    EXPECT_NE(given, &countingDestructor);  // hostd's trampoline
    pthread_key_t key{};
    EXPECT_EQ(::pthread_key_create(&key, given), 0);
    PluginThreads::keyCreated(slot, key);
    return key;
}

/// Runs a thread that sets key, lets `between` happen, and then ends.
void threadHoldingAValue(pthread_key_t key, const std::function<void()>& between) {
    std::promise<void> set, release;
    std::thread t([&] {
        ::pthread_setspecific(key, &gDestroyed);
        set.set_value();
        release.get_future().wait();
    });
    set.get_future().wait();
    between();
    release.set_value();
    t.join();
}

TEST(PluginThreads, AKeyDestructorRunsWhileTheImageIsMappedAndIsSkippedOnceItIsRetired) {
    FakeImage image("keys@" + std::string(32, 'a'));
    pthread_key_t key = createKey();
    EXPECT_EQ(PluginThreads::keysLeft(image.label()), 1u);

    gDestroyed = 0;
    threadHoldingAValue(key, [] {});
    EXPECT_EQ(gDestroyed, 1);  // mapped: the plugin's destructor runs

    gDestroyed = 0;
    threadHoldingAValue(key, [&] { EXPECT_FALSE(PluginThreads::retire(image.label())); });
    EXPECT_EQ(gDestroyed, 0);  // retired (unmapped): skipped, the value leaks

    PluginThreads::revive(image.label());  // dlclose did not unmap it after all
    gDestroyed = 0;
    threadHoldingAValue(key, [] {});
    EXPECT_EQ(gDestroyed, 1);

    ASSERT_EQ(::pthread_key_delete(key), 0);
    PluginThreads::keyDeleted(key);
    EXPECT_EQ(PluginThreads::keysLeft(image.label()), 0u);
}

TEST(PluginThreads, AKeyWhoseDestructorIsNotAPluginsIsLeftAlone) {
    int slot = 7;
    auto own = [](void*) {};
    EXPECT_EQ(PluginThreads::keyDestructor(+own, slot), +own);
    EXPECT_EQ(slot, -1);
    EXPECT_EQ(PluginThreads::keyDestructor(nullptr, slot), nullptr);
}

void* waitForRelease(void* arg) {
    auto* seen = static_cast<std::pair<std::string, std::future<void>>*>(arg);
    const char* plugin = CrashGuard::currentPlugin();
    const char* callback = CrashGuard::currentCallback();
    seen->first = std::string(plugin != nullptr ? plugin : "-") + " " + (callback != nullptr ? callback : "-");
    seen->second.wait();
    return nullptr;
}

TEST(PluginThreads, AnAdoptedThreadIsCountedUntilItEndsAndRunsAsThePluginsOwn) {
    const std::string label = "threads@" + std::string(32, 'b');
    std::promise<void> release;
    std::pair<std::string, std::future<void>> seen{"", release.get_future()};
    std::size_t before = PluginThreads::running();
    PluginThreads::Start* start = PluginThreads::adopt(label.c_str(), &waitForRelease, &seen);
    pthread_t thread{};
    ASSERT_EQ(::pthread_create(&thread, nullptr, &PluginThreads::run, start), 0);

    PluginThreads::Holds held = PluginThreads::retire(label);
    EXPECT_EQ(held.threads, 1u);  // an image with a thread of its own running stays mapped
    EXPECT_EQ(PluginThreads::running(), before + 1);

    release.set_value();
    ASSERT_EQ(::pthread_join(thread, nullptr), 0);
    EXPECT_EQ(seen.first, label + " own-thread");  // a crash there is the plugin's
    EXPECT_FALSE(PluginThreads::retire(label));
    EXPECT_EQ(PluginThreads::running(), before);
}

TEST(PluginThreads, AThreadOfAPluginsCallBelongsToThePlugin) {
    EXPECT_EQ(PluginThreads::ownerOfNewThread(0), nullptr);
    CrashGuard::CallScope scope("owner@x", "start");
    EXPECT_STREQ(PluginThreads::ownerOfNewThread(0), "owner@x");  // std::thread's call, from a library
}

}  // namespace
}  // namespace hostd
