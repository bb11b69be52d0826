// The lifecycle table (Lifecycle.h), transition by transition, and the copy of it in
// docs/architecture.md.
#include "Lifecycle.h"

#include <gtest/gtest.h>

#include <fstream>
#include <vector>
#include <sstream>

namespace {

using hostd::LifecycleEvent;
using hostd::PluginState;
using hostd::transition;
using E = LifecycleEvent;
using S = PluginState;

std::vector<PluginState> allStates() {
    std::vector<PluginState> out;
    for (unsigned i = 0; i < hostd::kStateCount; ++i) out.push_back(static_cast<PluginState>(i));
    return out;
}

std::vector<LifecycleEvent> allEvents() {
    std::vector<LifecycleEvent> out;
    for (unsigned i = 0; i <= static_cast<unsigned>(E::QuarantineLiftedUnloaded); ++i) out.push_back(static_cast<LifecycleEvent>(i));
    return out;
}

TEST(Lifecycle, EveryRowTakesEachOfItsStatesToItsTarget) {
    for (const auto& t : hostd::kTransitions)
        for (PluginState s : allStates())
            if (t.from.contains(s)) {
                auto to = transition(s, t.event);
                ASSERT_TRUE(to) << hostd::stateName(s) << " on " << hostd::eventName(t.event);
                EXPECT_EQ(*to, t.to) << hostd::stateName(s) << " on " << hostd::eventName(t.event);
            }
}

TEST(Lifecycle, NoTwoRowsDisagreeAboutAStateAndEvent) {
    for (const auto& a : hostd::kTransitions)
        for (const auto& b : hostd::kTransitions)
            for (PluginState s : allStates())
                if (&a != &b && a.event == b.event && a.from.contains(s) && b.from.contains(s)) {
                    EXPECT_EQ(a.to, b.to) << hostd::stateName(s) << " on " << hostd::eventName(a.event);
                }
}

TEST(Lifecycle, EveryEventHasARowAndEveryStateIsReachable) {
    for (LifecycleEvent e : allEvents()) {
        bool found = false;
        for (const auto& t : hostd::kTransitions) found |= t.event == e;
        EXPECT_TRUE(found) << hostd::eventName(e);
    }
    for (PluginState s : allStates()) {
        bool reached = false;
        for (const auto& t : hostd::kTransitions) reached |= t.to == s;
        EXPECT_TRUE(reached || s == S::Invalid) << hostd::stateName(s);  // Invalid is also where a record begins
    }
}

TEST(Lifecycle, AStuckPluginNeverLeavesStuck) {
    for (LifecycleEvent e : allEvents()) {
        auto to = transition(S::Stuck, e);
        if (to) {
            EXPECT_EQ(*to, S::Stuck) << hostd::eventName(e);
        }
    }
}

TEST(Lifecycle, ARunningPluginLeavesOnlyThroughACallTheDrainOrAHang) {
    std::vector<LifecycleEvent> ways;
    for (LifecycleEvent e : allEvents())
        if (transition(S::Running, e)) ways.push_back(e);
    EXPECT_EQ(ways, (std::vector<LifecycleEvent>{E::ReloadCalled, E::StopCalled, E::DrainBudgetOver, E::CodeHung}));
}

TEST(Lifecycle, CallsStartOnlyFromWaitingAndRunOnlyFromRunning) {
    for (S s : {S::Loaded, S::Pending, S::Blocked}) EXPECT_EQ(transition(s, E::StartCalled), S::Starting);
    for (S s : {S::Running, S::Stopped, S::Failed, S::Stuck, S::Invalid, S::Disabled, S::Quarantined, S::Starting})
        EXPECT_FALSE(transition(s, E::StartCalled)) << hostd::stateName(s);
    EXPECT_EQ(transition(S::Running, E::ReloadCalled), S::Reloading);
    EXPECT_EQ(transition(S::Running, E::StopCalled), S::Stopping);
    EXPECT_FALSE(transition(S::Reloading, E::StopCalled));  // a stop waits for the reload to return
    EXPECT_FALSE(transition(S::Starting, E::StopCalled));
}

TEST(Lifecycle, AStartEndsRunningFailedOrRolledBack) {
    EXPECT_EQ(transition(S::Starting, E::StartSucceeded), S::Running);
    EXPECT_EQ(transition(S::Starting, E::StartFailed), S::Failed);
    EXPECT_EQ(transition(S::Starting, E::UpgradeRolledBack), S::Loaded);
    EXPECT_EQ(transition(S::Starting, E::CallOverran), S::Stuck);
}

TEST(Lifecycle, AFailedPluginComesBackAfterItsBackoffOrAnOperatorOrIsQuarantined) {
    EXPECT_EQ(transition(S::Failed, E::BackoffOver), S::Loaded);
    EXPECT_EQ(transition(S::Failed, E::OperatorStart), S::Loaded);
    EXPECT_EQ(transition(S::Failed, E::FailureBurst), S::Quarantined);
    EXPECT_FALSE(transition(S::Running, E::FailureBurst));
    EXPECT_FALSE(transition(S::Stopped, E::BackoffOver));
}

TEST(Lifecycle, OnlyAQuarantineIsLiftedAndACrashHistoryNeverQuarantinesARunningVersion) {
    EXPECT_EQ(transition(S::Quarantined, E::QuarantineLifted), S::Loaded);
    EXPECT_EQ(transition(S::Quarantined, E::QuarantineLiftedUnloaded), S::Invalid);
    EXPECT_FALSE(transition(S::Failed, E::QuarantineLifted));
    EXPECT_EQ(transition(S::Invalid, E::CrashedBefore), S::Quarantined);
    for (S s : {S::Starting, S::Running, S::Reloading, S::Stopping, S::Stuck})
        EXPECT_FALSE(transition(s, E::CrashedBefore)) << hostd::stateName(s);
}

TEST(Lifecycle, WhatAStopWasForIsAppliedOnlyOnceTheStopIsOver) {
    for (E e : {E::RestartAfterStop, E::UpgradeAfterStop, E::HoldAfterStop, E::DisableAfterStop, E::RemoveAfterStop})
        for (S s : {S::Starting, S::Running, S::Reloading, S::Stopping, S::Stuck})
            EXPECT_FALSE(transition(s, e)) << hostd::stateName(s) << " on " << hostd::eventName(e);
    EXPECT_EQ(transition(S::Stopped, E::FailAfterStop), S::Failed);
    EXPECT_EQ(transition(S::Stopped, E::HoldAfterStop), S::Stopped);
    EXPECT_EQ(transition(S::Stopped, E::DisableAfterStop), S::Disabled);
}

TEST(Lifecycle, TheArchitectureDocumentShowsTheTableAsTheCodeHasIt) {
    std::ifstream in(HOSTD_SOURCE_DIR "/docs/architecture.md");
    std::stringstream doc;
    doc << in.rdbuf();
    EXPECT_NE(doc.str().find(hostd::lifecycleTable()), std::string::npos)
        << "docs/architecture.md does not hold the lifecycle table as host/lifecycle/Lifecycle.cpp has it; "
           "replace it with:\n"
        << hostd::lifecycleTable();
}

}  // namespace
