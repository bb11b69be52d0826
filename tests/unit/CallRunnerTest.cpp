#include "CallRunner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <poll.h>
#include <unistd.h>

namespace {

using hostd::CallResult;
using Completed = std::vector<std::pair<std::uint64_t, CallResult>>;
using namespace std::chrono_literals;

/// A safety net only: every wait below ends as soon as the event arrives.
constexpr int kSafetyTimeoutMs = 10'000;

/// True if fd becomes readable within timeoutMs.
bool readable(int fd, int timeoutMs) {
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, timeoutMs);
    return n == 1 && (p.revents & POLLIN) != 0;
}

/// A gate a job blocks on until the test opens it. Opening is idempotent, and the
/// destructor opens it, so a failing test never leaves a thread blocked forever.
class Gate {
public:
    void open() {
        std::lock_guard<std::mutex> lock(_mutex);
        if (!_opened) {
            _opened = true;
            _promise.set_value();
        }
    }
    std::shared_future<void> future() const { return _future; }
    ~Gate() { open(); }

private:
    std::mutex _mutex;
    bool _opened = false;
    std::promise<void> _promise;
    std::shared_future<void> _future = _promise.get_future().share();
};

/// A job that waits for the gate (at most the safety timeout) and then reports `message`.
hostd::CallRunner::Job gatedJob(const Gate& gate, std::string message) {
    return [f = gate.future(), message = std::move(message)] {
        bool opened = f.wait_for(std::chrono::milliseconds(kSafetyTimeoutMs)) == std::future_status::ready;
        return CallResult{opened ? HOSTD_OK : HOSTD_ERR_FAILED, opened ? message : "gate never opened", {}};
    };
}

class CallRunner : public ::testing::Test {
protected:
    void TearDown() override {
        // Destroying a CallRunner with unjoined threads would terminate the process: after
        // a failed assertion, let the blocked jobs finish and collect them, or abandon them.
        for (auto& g : gates) g->open();
        collect(runner.running(), kSafetyTimeoutMs);
        for (auto id : submitted) runner.abandon(id);
    }

    std::uint64_t submit(hostd::CallRunner::Job job) {
        auto id = runner.submit(std::move(job));
        submitted.push_back(id);
        return id;
    }

    Gate& newGate() { return *gates.emplace_back(std::make_unique<Gate>()); }

    /// Waits on the fd and takes completions until `count` have arrived (or the safety
    /// timeout expires, which the caller's assertions then show).
    Completed collect(std::size_t count, int timeoutMs = kSafetyTimeoutMs) {
        Completed all;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
        while (all.size() < count) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0 || !readable(runner.fd(), static_cast<int>(left.count()))) break;
            for (auto& c : runner.takeCompleted()) all.push_back(std::move(c));
        }
        return all;
    }

    hostd::CallRunner runner;
    std::vector<std::uint64_t> submitted;
    std::vector<std::unique_ptr<Gate>> gates;
};

TEST_F(CallRunner, FdIsNotReadableWhileNothingHasCompleted) {
    EXPECT_GE(runner.fd(), 0);
    EXPECT_FALSE(readable(runner.fd(), 0));
    EXPECT_THAT(runner.takeCompleted(), ::testing::IsEmpty());
    EXPECT_EQ(runner.running(), 0u);
}

TEST_F(CallRunner, SubmitReturnsDistinctIncreasingIds) {
    auto a = submit([] { return CallResult{}; });
    auto b = submit([] { return CallResult{}; });
    auto c = submit([] { return CallResult{}; });
    EXPECT_LT(a, b);
    EXPECT_LT(b, c);
    EXPECT_EQ(collect(3).size(), 3u);
}

TEST_F(CallRunner, ReportsACompletedCallWithItsIdResultAndDuration) {
    auto id = submit([] {
        std::this_thread::sleep_for(20ms);
        return CallResult{HOSTD_ERR_CONFIG, "port must be a number", {}};
    });
    ASSERT_TRUE(readable(runner.fd(), kSafetyTimeoutMs));
    Completed done = runner.takeCompleted();
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].first, id);
    EXPECT_EQ(done[0].second.code, HOSTD_ERR_CONFIG);
    EXPECT_EQ(done[0].second.message, "port must be a number");
    EXPECT_GE(done[0].second.duration, 20ms);  // measured by the runner around the job
    EXPECT_LT(done[0].second.duration, std::chrono::milliseconds(kSafetyTimeoutMs));
    EXPECT_EQ(runner.running(), 0u);
}

TEST_F(CallRunner, OverwritesTheDurationAJobReports) {
    submit([] { return CallResult{HOSTD_OK, "", std::chrono::hours(5)}; });
    Completed done = collect(1);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_GE(done[0].second.duration.count(), 0);
    EXPECT_LT(done[0].second.duration, std::chrono::milliseconds(kSafetyTimeoutMs));
}

TEST_F(CallRunner, FdIsNoLongerReadableOnceCompletionsAreTaken) {
    submit([] { return CallResult{}; });
    ASSERT_TRUE(readable(runner.fd(), kSafetyTimeoutMs));
    EXPECT_EQ(runner.takeCompleted().size(), 1u);
    EXPECT_FALSE(readable(runner.fd(), 0));
    EXPECT_THAT(runner.takeCompleted(), ::testing::IsEmpty());
}

TEST_F(CallRunner, ManyConcurrentCallsAllCompleteWithTheirOwnResults) {
    constexpr int kJobs = 64;
    // Every job waits until all have started: this only succeeds if they run concurrently.
    // Shared, not on the stack: a failing test must not leave jobs with dangling references.
    struct Rendezvous {
        std::mutex m;
        std::condition_variable cv;
        int started = 0;
    };
    auto r = std::make_shared<Rendezvous>();
    std::map<std::uint64_t, std::string> expected;
    for (int i = 0; i < kJobs; ++i) {
        std::string message = "job " + std::to_string(i);
        auto id = submit([r, message] {
            std::unique_lock<std::mutex> lock(r->m);
            ++r->started;
            r->cv.notify_all();
            bool all = r->cv.wait_for(lock, std::chrono::milliseconds(kSafetyTimeoutMs),
                                      [&] { return r->started == kJobs; });
            return CallResult{all ? HOSTD_OK : HOSTD_ERR_FAILED, message, {}};
        });
        expected.emplace(id, message);
    }
    EXPECT_EQ(expected.size(), static_cast<std::size_t>(kJobs));  // ids are distinct

    Completed done = collect(kJobs);
    ASSERT_EQ(done.size(), static_cast<std::size_t>(kJobs));
    std::map<std::uint64_t, std::string> got;
    for (const auto& [id, result] : done) {
        EXPECT_EQ(result.code, HOSTD_OK) << "call " << id << " did not see all calls running at once";
        EXPECT_GE(result.duration.count(), 0);
        EXPECT_TRUE(got.emplace(id, result.message).second) << "call " << id << " reported twice";
    }
    EXPECT_EQ(got, expected);
    EXPECT_EQ(runner.running(), 0u);
    // Nothing is left over or reported twice. (The fd itself may still be readable: a call
    // whose result was taken together with an earlier one signals afterwards, a harmless
    // spurious wake-up, so it is not asserted on here.)
    EXPECT_THAT(runner.takeCompleted(), ::testing::IsEmpty());
}

TEST_F(CallRunner, RunningCountsCallsUntilTheirCompletionIsTaken) {
    Gate& first = newGate();
    Gate& second = newGate();
    auto a = submit(gatedJob(first, "first"));
    auto b = submit(gatedJob(second, "second"));
    EXPECT_EQ(runner.running(), 2u);

    first.open();
    ASSERT_TRUE(readable(runner.fd(), kSafetyTimeoutMs));
    EXPECT_EQ(runner.running(), 2u);  // completed but not yet taken: still counted
    Completed done = runner.takeCompleted();
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].first, a);
    EXPECT_EQ(done[0].second.message, "first");
    EXPECT_EQ(runner.running(), 1u);

    second.open();
    done = collect(1);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].first, b);
    EXPECT_EQ(runner.running(), 0u);
}

TEST_F(CallRunner, AnAbandonedCallStillReportsItsLateCompletion) {
    Gate& gate = newGate();
    auto id = submit(gatedJob(gate, "finally"));
    ASSERT_EQ(runner.running(), 1u);

    runner.abandon(id);
    EXPECT_EQ(runner.running(), 0u);
    EXPECT_FALSE(readable(runner.fd(), 0));

    gate.open();
    Completed done = collect(1);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].first, id);
    EXPECT_EQ(done[0].second.code, HOSTD_OK);
    EXPECT_EQ(done[0].second.message, "finally");
    EXPECT_GE(done[0].second.duration.count(), 0);
    EXPECT_EQ(runner.running(), 0u);
}

TEST_F(CallRunner, AbandoningOneCallDoesNotDisturbTheOthers) {
    Gate& slow = newGate();
    auto stuck = submit(gatedJob(slow, "slow"));
    auto quick = submit([] { return CallResult{HOSTD_OK, "quick", {}}; });
    runner.abandon(stuck);
    EXPECT_EQ(runner.running(), 1u);

    Completed done = collect(1);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].first, quick);
    EXPECT_EQ(runner.running(), 0u);

    slow.open();
    done = collect(1);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].first, stuck);
    EXPECT_EQ(done[0].second.message, "slow");
}

TEST_F(CallRunner, AbandoningAnUnknownOrFinishedCallIsHarmless) {
    auto id = submit([] { return CallResult{}; });
    ASSERT_EQ(collect(1).size(), 1u);
    runner.abandon(id);        // already joined
    runner.abandon(id + 100);  // never existed
    EXPECT_EQ(runner.running(), 0u);
    auto next = submit([] { return CallResult{HOSTD_OK, "next", {}}; });
    Completed done = collect(1);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].first, next);
}

TEST(CallRunnerLifetime, AnAbandonedCallMayCompleteAfterTheRunnerIsDestroyed) {
    Gate gate;
    int watch = -1;
    {
        hostd::CallRunner runner;
        // A second descriptor on the same eventfd lets the test see the late completion.
        watch = ::dup(runner.fd());
        ASSERT_GE(watch, 0);
        auto id = runner.submit(gatedJob(gate, "after"));
        runner.abandon(id);
        EXPECT_EQ(runner.running(), 0u);
    }
    gate.open();
    EXPECT_TRUE(readable(watch, kSafetyTimeoutMs));
    ::close(watch);
}

}  // namespace

namespace {

/// The kernel's id of the calling thread, as a job's message.
CallResult tidJob() { return CallResult{HOSTD_OK, std::to_string(::gettid()), {}}; }

TEST_F(CallRunner, SequentialCallsReuseOneIdleWorker) {
    std::set<std::string> tids;
    for (int i = 0; i < 20; ++i) {
        submit(tidJob);
        Completed done = collect(1);
        ASSERT_EQ(done.size(), 1u);
        tids.insert(done[0].second.message);
    }
    EXPECT_EQ(tids.size(), 1u) << "each call after the first should run on the idle worker";
    EXPECT_EQ(runner.workers(), 1u);
}

TEST_F(CallRunner, ACallNeverWaitsBehindABusyWorker) {
    Gate& hung = newGate();
    auto stuck = submit(gatedJob(hung, "hung"));
    runner.abandon(stuck);
    // The only other worker is busy in the hung call: the next call gets a thread of its own.
    auto quick = submit(tidJob);
    Completed done = collect(1);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].first, quick);
    EXPECT_EQ(runner.workers(), 2u);
    hung.open();
    ASSERT_EQ(collect(1).size(), 1u);
}

TEST_F(CallRunner, IdleWorkersAreCappedAndTheRestEnd) {
    Gate& gate = newGate();
    constexpr std::size_t kCalls = hostd::CallRunner::kMaxIdle + 4;
    for (std::size_t i = 0; i < kCalls; ++i) submit(gatedJob(gate, "x"));
    EXPECT_EQ(runner.workers(), kCalls);
    gate.open();
    ASSERT_EQ(collect(kCalls).size(), kCalls);
    // Ended workers are joined when their completions are taken; a last take collects stragglers.
    for (int i = 0; i < 100 && runner.workers() > hostd::CallRunner::kMaxIdle; ++i) {
        std::this_thread::sleep_for(10ms);
        runner.takeCompleted();
    }
    EXPECT_EQ(runner.workers(), hostd::CallRunner::kMaxIdle);
}

/// Counts destructions of thread_local objects, as a plugin's would run at thread exit.
std::atomic<int> gThreadLocalsDestroyed{0};
struct ThreadLocalWitness {
    bool touched = false;
    ~ThreadLocalWitness() {
        if (touched) gThreadLocalsDestroyed.fetch_add(1);
    }
};
thread_local ThreadLocalWitness tWitness;

TEST_F(CallRunner, RetiringIdleWorkersRunsTheirThreadLocalDestructors) {
    gThreadLocalsDestroyed = 0;
    submit([] {
        tWitness.touched = true;
        return CallResult{};
    });
    ASSERT_EQ(collect(1).size(), 1u);
    EXPECT_EQ(runner.workers(), 1u);
    EXPECT_EQ(gThreadLocalsDestroyed.load(), 0) << "the worker is idle, not ended";
    runner.retireIdleWorkers();
    EXPECT_EQ(runner.workers(), 0u);
    EXPECT_EQ(gThreadLocalsDestroyed.load(), 1) << "joined: the thread's thread_local destructors have run";
}

TEST_F(CallRunner, RetiringNeverJoinsABusyWorker) {
    Gate& gate = newGate();
    submit(gatedJob(gate, "busy"));
    runner.retireIdleWorkers();  // would hang here if it waited for the busy worker
    EXPECT_EQ(runner.workers(), 1u);
    gate.open();
    ASSERT_EQ(collect(1).size(), 1u);
}

}  // namespace
