#include "DependencyGraph.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace {

using hostd::DependencyGraph;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Names = std::vector<std::string>;
using Waves = std::vector<Names>;

/// c requires b requires a.
DependencyGraph chain() {
    DependencyGraph g;
    g.set("c", {"b"});
    g.set("b", {"a"});
    g.set("a", {});
    return g;
}

/// d requires b and c, which both require a.
DependencyGraph diamond() {
    DependencyGraph g;
    g.set("d", {"b", "c"});
    g.set("c", {"a"});
    g.set("b", {"a"});
    g.set("a", {});
    return g;
}

std::set<std::string> all(const DependencyGraph& g) {
    auto n = g.names();
    return {n.begin(), n.end()};
}

/// Simulates a concurrent drain: each wave is what stoppable() allows to begin once the
/// previous waves have finished stopping. Stops when everything is done or nothing can move.
Waves drainWaves(const DependencyGraph& g, const std::set<std::string>& active) {
    Waves waves;
    std::set<std::string> done;
    while (done.size() < active.size()) {
        Names wave = g.stoppable(active, done);
        if (wave.empty()) break;  // stuck: the caller's assertion on the waves will show it
        waves.push_back(wave);
        done.insert(wave.begin(), wave.end());
    }
    return waves;
}

/// The same for starting: each wave is what startable() allows once the previous ones run.
Waves startWaves(const DependencyGraph& g, std::set<std::string> waiting) {
    Waves waves;
    std::set<std::string> running;
    while (!waiting.empty()) {
        Names wave = g.startable(waiting, running);
        if (wave.empty()) break;
        waves.push_back(wave);
        for (const auto& n : wave) {
            waiting.erase(n);
            running.insert(n);
        }
    }
    return waves;
}

// ---- basic bookkeeping -------------------------------------------------------------------

TEST(DependencyGraph, SetSortsAndDeduplicatesDependencies) {
    DependencyGraph g;
    g.set("web", {"log", "db", "log", "cache", "db"});
    EXPECT_THAT(g.dependencies("web"), ElementsAre("cache", "db", "log"));
}

TEST(DependencyGraph, SetReplacesAPluginsDependencies) {
    DependencyGraph g;
    g.set("web", {"db"});
    g.set("web", {"cache"});
    EXPECT_THAT(g.dependencies("web"), ElementsAre("cache"));
    EXPECT_THAT(g.names(), ElementsAre("web"));
}

TEST(DependencyGraph, NamesAreSortedAndRemoveForgetsAPlugin) {
    DependencyGraph g;
    g.set("zeta", {});
    g.set("alpha", {"zeta"});
    g.set("mid", {});
    EXPECT_THAT(g.names(), ElementsAre("alpha", "mid", "zeta"));
    EXPECT_TRUE(g.contains("mid"));
    g.remove("mid");
    EXPECT_FALSE(g.contains("mid"));
    EXPECT_THAT(g.names(), ElementsAre("alpha", "zeta"));
    g.remove("never-there");
    EXPECT_THAT(g.names(), ElementsAre("alpha", "zeta"));
}

TEST(DependencyGraph, DependenciesOfAnUnknownPluginAreEmpty) {
    DependencyGraph g = chain();
    EXPECT_THAT(g.dependencies("nobody"), IsEmpty());
    EXPECT_FALSE(g.contains("nobody"));
}

// ---- startOrder --------------------------------------------------------------------------

TEST(DependencyGraph, StartOrderOfAChainPutsEachDependencyFirst) {
    EXPECT_THAT(chain().startOrder(), ElementsAre("a", "b", "c"));
}

TEST(DependencyGraph, StartOrderFollowsDependenciesEvenAgainstNameOrder) {
    // a requires b requires c: name order would be wrong.
    DependencyGraph g;
    g.set("a", {"b"});
    g.set("b", {"c"});
    g.set("c", {});
    EXPECT_THAT(g.startOrder(), ElementsAre("c", "b", "a"));
}

TEST(DependencyGraph, StartOrderOfADiamondStartsTheSharedDependencyFirstAndTheTopLast) {
    EXPECT_THAT(diamond().startOrder(), ElementsAre("a", "b", "c", "d"));
}

TEST(DependencyGraph, StartOrderBreaksTiesByNameAmongReadyPlugins) {
    // app requires web and cache; both require db. Once db is placed, cache and web are
    // both ready: cache comes first by name.
    DependencyGraph g;
    g.set("web", {"db"});
    g.set("app", {"web", "cache"});
    g.set("cache", {"db"});
    g.set("db", {});
    EXPECT_THAT(g.startOrder(), ElementsAre("db", "cache", "web", "app"));
}

TEST(DependencyGraph, StartOrderOfIndependentPluginsIsByName) {
    DependencyGraph g;
    g.set("zeta", {});
    g.set("alpha", {});
    g.set("mid", {});
    g.set("beta", {});
    EXPECT_THAT(g.startOrder(), ElementsAre("alpha", "beta", "mid", "zeta"));
}

TEST(DependencyGraph, StartOrderIgnoresDependenciesOutsideTheGraph) {
    DependencyGraph g;
    g.set("web", {"db"});  // db is not a plugin of this graph
    g.set("api", {"web"});
    EXPECT_THAT(g.startOrder(), ElementsAre("web", "api"));
}

TEST(DependencyGraph, StartOrderLeavesOutCyclesAndEverythingBehindThem) {
    DependencyGraph g;
    g.set("a", {"b"});
    g.set("b", {"a"});
    g.set("c", {"a"});  // behind the cycle
    g.set("e", {"d"});
    g.set("d", {});
    EXPECT_THAT(g.startOrder(), ElementsAre("d", "e"));
}

TEST(DependencyGraph, StartOrderOfAnEmptyGraphIsEmpty) { EXPECT_THAT(DependencyGraph().startOrder(), IsEmpty()); }

// ---- cycles ------------------------------------------------------------------------------

TEST(DependencyGraph, CyclesFindsATwoCycle) {
    DependencyGraph g;
    g.set("b", {"a"});
    g.set("a", {"b"});
    EXPECT_THAT(g.cycles(), ElementsAre(Names{"a", "b"}));
}

TEST(DependencyGraph, CyclesFindsAThreeCycle) {
    DependencyGraph g;
    g.set("x", {"y"});
    g.set("y", {"z"});
    g.set("z", {"x"});
    EXPECT_THAT(g.cycles(), ElementsAre(Names{"x", "y", "z"}));
}

TEST(DependencyGraph, CyclesExcludePluginsThatMerelyDependOnACycle) {
    DependencyGraph g;
    g.set("z", {"x"});
    g.set("y", {"z"});
    g.set("x", {"y"});
    g.set("b", {"a"});
    g.set("a", {"b"});
    g.set("c", {"a"});        // depends on the 2-cycle
    g.set("w", {"z", "q"});   // depends on the 3-cycle and on an independent plugin
    g.set("q", {});
    g.set("r", {"c"});        // depends on a plugin that depends on a cycle
    EXPECT_THAT(g.cycles(), ElementsAre(Names{"a", "b"}, Names{"x", "y", "z"}));
}

TEST(DependencyGraph, CyclesAreEmptyForAcyclicGraphs) {
    EXPECT_THAT(chain().cycles(), IsEmpty());
    EXPECT_THAT(diamond().cycles(), IsEmpty());
}

TEST(DependencyGraph, CyclesIgnoreSelfRequirementAndMissingDependencies) {
    DependencyGraph g;
    g.set("a", {"a"});
    g.set("b", {"ghost"});
    EXPECT_THAT(g.cycles(), IsEmpty());
}

// ---- missing / dependents ----------------------------------------------------------------

TEST(DependencyGraph, MissingListsOnlyDependenciesThatAreNotInTheGraph) {
    DependencyGraph g;
    g.set("web", {"log", "cache", "db"});
    g.set("cache", {});
    EXPECT_THAT(g.missing("web"), ElementsAre("db", "log"));
    EXPECT_THAT(g.missing("cache"), IsEmpty());
    EXPECT_THAT(g.missing("unknown"), IsEmpty());
}

TEST(DependencyGraph, DependentsAreTheDirectRequirersSortedByName) {
    DependencyGraph g;
    g.set("web", {"db"});
    g.set("api", {"db", "cache"});
    g.set("worker", {"cache"});
    g.set("front", {"web"});  // only indirectly depends on db
    g.set("db", {});
    EXPECT_THAT(g.dependents("db"), ElementsAre("api", "web"));
    EXPECT_THAT(g.dependents("cache"), ElementsAre("api", "worker"));
    EXPECT_THAT(g.dependents("front"), IsEmpty());
}

TEST(DependencyGraph, DependentsOfAPluginNotInTheGraphAreStillFound) {
    DependencyGraph g;
    g.set("web", {"db"});
    EXPECT_THAT(g.dependents("db"), ElementsAre("web"));
}

// ---- startable ---------------------------------------------------------------------------

TEST(DependencyGraph, StartableAreTheWaitingPluginsWhoseDependenciesAllRun) {
    DependencyGraph g;
    g.set("web", {"db"});
    g.set("api", {"db", "cache"});
    g.set("worker", {});
    g.set("db", {});
    g.set("cache", {});
    EXPECT_THAT(g.startable({"web", "api", "worker"}, {"db"}), ElementsAre("web", "worker"));
    EXPECT_THAT(g.startable({"web", "api", "worker"}, {"db", "cache"}), ElementsAre("api", "web", "worker"));
    EXPECT_THAT(g.startable({"web", "api"}, {}), IsEmpty());
}

TEST(DependencyGraph, StartableNeverIncludesAPluginWithAMissingDependency) {
    DependencyGraph g;
    g.set("web", {"db"});  // db is not in the graph
    EXPECT_THAT(g.startable({"web"}, {}), IsEmpty());
}

TEST(DependencyGraph, StartingADiamondGoesInWaves) {
    DependencyGraph g = diamond();
    EXPECT_THAT(startWaves(g, all(g)), ElementsAre(Names{"a"}, Names{"b", "c"}, Names{"d"}));
}

// ---- stoppable: the concurrent drain -----------------------------------------------------

TEST(DependencyGraph, DrainStopsTenIndependentPluginsAllAtOnce) {
    DependencyGraph g;
    std::set<std::string> active;
    Names expected;
    for (int i = 0; i < 10; ++i) {
        std::string name = "p" + std::to_string(i);
        g.set(name, {});
        active.insert(name);
        expected.push_back(name);
    }
    EXPECT_EQ(g.stoppable(active, {}), expected);
    EXPECT_THAT(drainWaves(g, active), ElementsAre(expected));
}

TEST(DependencyGraph, DrainOfAChainCanOnlyStopTheTail) {
    DependencyGraph g = chain();
    EXPECT_THAT(g.stoppable({"a", "b", "c"}, {}), ElementsAre("c"));
    EXPECT_THAT(g.stoppable({"a", "b", "c"}, {"c"}), ElementsAre("b"));
    EXPECT_THAT(g.stoppable({"a", "b", "c"}, {"c", "b"}), ElementsAre("a"));
    EXPECT_THAT(g.stoppable({"a", "b", "c"}, {"c", "b", "a"}), IsEmpty());
}

TEST(DependencyGraph, DrainStopsDependentsBeforeTheirDependencies) {
    DependencyGraph g = diamond();
    EXPECT_THAT(drainWaves(g, all(g)), ElementsAre(Names{"d"}, Names{"b", "c"}, Names{"a"}));
}

TEST(DependencyGraph, DrainOfAChainIsOneWavePerLink) {
    DependencyGraph g = chain();
    EXPECT_THAT(drainWaves(g, all(g)), ElementsAre(Names{"c"}, Names{"b"}, Names{"a"}));
}

TEST(DependencyGraph, DrainRunsIndependentPluginsAlongsideTheFirstWaveOfAChain) {
    DependencyGraph g = chain();
    g.set("x", {});
    g.set("y", {});
    EXPECT_THAT(drainWaves(g, all(g)), ElementsAre(Names{"c", "x", "y"}, Names{"b"}, Names{"a"}));
}

TEST(DependencyGraph, DrainIgnoresDependentsThatAreNotActive) {
    // b and d never started (say, disabled): they do not hold back their dependencies.
    DependencyGraph g = diamond();
    EXPECT_THAT(g.stoppable({"a", "c"}, {}), ElementsAre("c"));
    EXPECT_THAT(drainWaves(g, {"a", "c"}), ElementsAre(Names{"c"}, Names{"a"}));
    EXPECT_THAT(g.stoppable({"a"}, {}), ElementsAre("a"));
}

TEST(DependencyGraph, DrainNeverOffersAPluginThatIsAlreadyDone) {
    DependencyGraph g = diamond();
    EXPECT_THAT(g.stoppable({"a", "b", "c", "d"}, {"d", "b"}), ElementsAre("c"));
}

TEST(DependencyGraph, DrainOnlyConsidersActivePlugins) {
    DependencyGraph g = diamond();
    EXPECT_THAT(g.stoppable({}, {}), IsEmpty());
    EXPECT_THAT(g.stoppable({"d"}, {}), ElementsAre("d"));
}

}  // namespace
