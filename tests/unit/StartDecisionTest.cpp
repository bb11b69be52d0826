// The start rule of the plugin state machine: what a loaded plugin does given its dependencies.
#include "Plugin.h"

#include <gtest/gtest.h>

namespace hostd {
namespace {

using S = PluginState;

TEST(StartDecision, StartsWhenEveryDependencyRuns) {
    auto d = decideStart({{"a", S::Running}, {"b", S::Reloading}}, "");
    EXPECT_TRUE(d.start);
}

TEST(StartDecision, StartsAtOnceWithoutDependencies) { EXPECT_TRUE(decideStart({}, "").start); }

TEST(StartDecision, WaitsWhileADependencyIsOnItsWayUp) {
    for (S s : {S::Loaded, S::Starting}) {
        auto d = decideStart({{"a", S::Running}, {"b", s}}, "");
        EXPECT_FALSE(d.start);
        EXPECT_EQ(d.state, S::Loaded);
        EXPECT_EQ(d.reason, "");
    }
}

TEST(StartDecision, MissingDependencyMakesItPendingAndNamesIt) {
    auto d = decideStart({{"a", std::nullopt}, {"b", S::Pending}}, "");
    EXPECT_FALSE(d.start);
    EXPECT_EQ(d.state, S::Pending);
    EXPECT_EQ(d.reason, "waiting for a (not installed), b (pending)");
}

TEST(StartDecision, FailedOrUnusableDependencyBlocksItAndNamesEachBlocker) {
    for (S s : {S::Failed, S::Invalid, S::Blocked, S::Stuck, S::Stopped, S::Disabled}) {
        auto d = decideStart({{"a", s}, {"b", S::Running}}, "");
        EXPECT_FALSE(d.start);
        EXPECT_EQ(d.state, S::Blocked);
        EXPECT_EQ(d.reason, "blocked by a (" + std::string(stateName(s)) + ")");
    }
}

TEST(StartDecision, BlockedWinsOverPending) {
    auto d = decideStart({{"a", std::nullopt}, {"b", S::Failed}, {"c", S::Failed}}, "");
    EXPECT_EQ(d.state, S::Blocked);
    EXPECT_EQ(d.reason, "blocked by b (failed), c (failed)");
}

TEST(StartDecision, PluginOnACycleIsBlockedWhateverItsDependencies) {
    auto d = decideStart({{"b", S::Running}}, "a -> b -> a");
    EXPECT_FALSE(d.start);
    EXPECT_EQ(d.state, S::Blocked);
    EXPECT_EQ(d.reason, "dependency cycle a -> b -> a");
}

}  // namespace
}  // namespace hostd
