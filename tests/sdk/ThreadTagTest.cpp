// ABI 1.2 thread tagging in the C++ wrapper: hostd::Thread and Context::tagThisThread call the
// host's hostd_cb_thread_tag on the new thread, and do nothing on a host whose services table
// predates it (the size check of HOSTD_HAS_SERVICE).
#include <hostd/plugin.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <mutex>
#include <pthread.h>
#include <string>
#include <vector>

namespace hostd::test {
namespace {

std::mutex gMutex;
std::vector<std::pair<std::string, pthread_t>> gTagged;  // (name, thread) per call

void recordTag(const hostd_type_context*, const char* name, size_t len) {
    std::lock_guard lock(gMutex);
    gTagged.emplace_back(std::string(name, len), pthread_self());
}

/// A host services table as a host of ABI 1.MINOR builds it.
struct FakeHost {
    explicit FakeHost(std::size_t servicesSize) {
        services.size = static_cast<std::uint32_t>(servicesSize);
        services.hostd_cb_thread_tag = &recordTag;
        context = {sizeof context, 0, {"fake", 4}, &services, nullptr};
        std::lock_guard lock(gMutex);
        gTagged.clear();
    }
    hostd_type_services services{};
    hostd_type_context context{};
};

TEST(ThreadTag, AThreadTagsItselfBeforeItsBodyRuns) {
    FakeHost host(sizeof(hostd_type_services));
    pthread_t body{};
    {
        hostd::Thread t(hostd::Context(&host.context), "worker-1", [&] { body = pthread_self(); });
    }  // joined here
    std::lock_guard lock(gMutex);
    ASSERT_EQ(gTagged.size(), 1u);
    EXPECT_EQ(gTagged[0].first, "worker-1");
    EXPECT_TRUE(pthread_equal(gTagged[0].second, body)) << "tagged from another thread than the body's";
}

TEST(ThreadTag, OnAHostOlderThan1_2NothingIsCalledAndTheThreadStillRuns) {
    FakeHost host(offsetof(hostd_type_services, hostd_cb_thread_tag));  // a 1.1 table
    bool ran = false;
    hostd::Thread t(hostd::Context(&host.context), "worker", [&] { ran = true; });
    t.join();
    EXPECT_TRUE(ran);
    EXPECT_FALSE(hostd::Context(&host.context).tagThisThread("x"));
    std::lock_guard lock(gMutex);
    EXPECT_TRUE(gTagged.empty());
}

TEST(ThreadTag, MoveAssignmentJoinsTheThreadItReplaces) {
    FakeHost host(sizeof(hostd_type_services));
    std::atomic<int> finished{0};
    hostd::Thread t(hostd::Context(&host.context), "first", [&] { ++finished; });
    t = hostd::Thread(hostd::Context(&host.context), "second", [&] { ++finished; });
    EXPECT_GE(finished.load(), 1);  // the first was joined before being replaced
    t.join();
    EXPECT_EQ(finished.load(), 2);
    EXPECT_FALSE(t.joinable());
}

}  // namespace
}  // namespace hostd::test
