#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace hostd {

/// Which plugin requires which: pure logic, no I/O. Edges point from a plugin to the
/// plugins it requires (its dependencies).
class DependencyGraph {
public:
    void set(const std::string& name, std::vector<std::string> dependencies);
        /// Adds or replaces a plugin and its dependencies (duplicates are dropped).

    void remove(const std::string& name);
    bool contains(const std::string& name) const { return _dependencies.count(name) != 0; }
    std::vector<std::string> names() const;

    const std::vector<std::string>& dependencies(const std::string& name) const;
        /// Direct dependencies of name (empty if unknown).

    const std::set<std::string>& dependents(const std::string& name) const;
        /// Plugins that directly require name, sorted. O(log n): the drain asks for every plugin.

    std::vector<std::string> missing(const std::string& name) const;
        /// Direct dependencies of name that are not in the graph.

    std::vector<std::vector<std::string>> cycles() const;
        /// Every dependency cycle, as the list of plugins on it (sorted; cycles sorted).

    std::vector<std::string> startOrder() const;
        /// A topological order (dependencies first) of the plugins not on or behind a cycle,
        /// ties broken by name so the order is deterministic.

    std::vector<std::string> startable(const std::set<std::string>& waiting, const std::set<std::string>& running) const;
        /// Plugins of `waiting` whose every dependency is in `running`, sorted.

    std::vector<std::string> stoppable(const std::set<std::string>& active, const std::set<std::string>& done) const;
        /// Plugins of `active` (not yet in `done`) with no dependent in `active` that is not in
        /// `done`: the ones whose stop may begin now. Independent ones come out together, so
        /// they stop concurrently.

private:
    std::map<std::string, std::vector<std::string>> _dependencies;
    std::map<std::string, std::set<std::string>> _dependents;  // reverse edges, also for names not (yet) in the graph
};

}  // namespace hostd
