#include "DependencyGraph.h"

#include <algorithm>
#include <functional>

namespace hostd {

void DependencyGraph::set(const std::string& name, std::vector<std::string> dependencies) {
    remove(name);
    std::sort(dependencies.begin(), dependencies.end());
    dependencies.erase(std::unique(dependencies.begin(), dependencies.end()), dependencies.end());
    for (const auto& d : dependencies) _dependents[d].insert(name);
    _dependencies[name] = std::move(dependencies);
}

void DependencyGraph::remove(const std::string& name) {
    auto it = _dependencies.find(name);
    if (it == _dependencies.end()) return;
    for (const auto& d : it->second) {
        auto r = _dependents.find(d);
        if (r == _dependents.end()) continue;
        r->second.erase(name);
        if (r->second.empty()) _dependents.erase(r);
    }
    _dependencies.erase(it);
}

std::vector<std::string> DependencyGraph::names() const {
    std::vector<std::string> out;
    for (const auto& [n, _] : _dependencies) out.push_back(n);
    return out;
}

const std::vector<std::string>& DependencyGraph::dependencies(const std::string& name) const {
    static const std::vector<std::string> none;
    auto it = _dependencies.find(name);
    return it == _dependencies.end() ? none : it->second;
}

const std::set<std::string>& DependencyGraph::dependents(const std::string& name) const {
    static const std::set<std::string> none;
    auto it = _dependents.find(name);
    return it == _dependents.end() ? none : it->second;
}

std::vector<std::string> DependencyGraph::missing(const std::string& name) const {
    std::vector<std::string> out;
    for (const auto& d : dependencies(name))
        if (!contains(d)) out.push_back(d);
    return out;
}

std::vector<std::vector<std::string>> DependencyGraph::cycles() const {
    // Tarjan's strongly connected components; a component of more than one node is a cycle
    // (self-requirement is rejected by the config and ignored here).
    std::map<std::string, int> index, low;
    std::set<std::string> onStack;
    std::vector<std::string> stack;
    std::vector<std::vector<std::string>> out;
    int counter = 0;
    std::function<void(const std::string&)> visit = [&](const std::string& v) {
        index[v] = low[v] = counter++;
        stack.push_back(v);
        onStack.insert(v);
        for (const auto& w : dependencies(v)) {
            if (!contains(w) || w == v) continue;
            if (!index.count(w)) {
                visit(w);
                low[v] = std::min(low[v], low[w]);
            } else if (onStack.count(w)) {
                low[v] = std::min(low[v], index[w]);
            }
        }
        if (low[v] == index[v]) {
            std::vector<std::string> component;
            std::string w;
            do {
                w = stack.back();
                stack.pop_back();
                onStack.erase(w);
                component.push_back(w);
            } while (w != v);
            if (component.size() > 1) {
                std::sort(component.begin(), component.end());
                out.push_back(std::move(component));
            }
        }
    };
    for (const auto& [n, _] : _dependencies)
        if (!index.count(n)) visit(n);
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> DependencyGraph::startOrder() const {
    std::set<std::string> placed;
    std::set<std::string> waiting;
    for (const auto& [n, _] : _dependencies) waiting.insert(n);
    std::vector<std::string> order;
    for (;;) {
        std::vector<std::string> next;
        for (const auto& n : waiting) {
            bool ready = true;
            for (const auto& d : dependencies(n))
                if (contains(d) && !placed.count(d)) ready = false;
            if (ready) next.push_back(n);
        }
        if (next.empty()) break;
        // One at a time keeps the order deterministic by name within each level.
        const std::string& first = next.front();
        order.push_back(first);
        placed.insert(first);
        waiting.erase(first);
    }
    return order;
}

std::vector<std::string> DependencyGraph::startable(const std::set<std::string>& waiting,
                                                    const std::set<std::string>& running) const {
    std::vector<std::string> out;
    for (const auto& n : waiting) {
        const auto& reqs = dependencies(n);
        if (std::all_of(reqs.begin(), reqs.end(), [&](const std::string& d) { return running.count(d) != 0; }))
            out.push_back(n);
    }
    return out;
}

std::vector<std::string> DependencyGraph::stoppable(const std::set<std::string>& active,
                                                    const std::set<std::string>& done) const {
    std::vector<std::string> out;
    for (const auto& n : active) {
        if (done.count(n)) continue;
        bool blocked = false;
        for (const auto& dep : dependents(n))
            if (active.count(dep) && !done.count(dep)) blocked = true;
        if (!blocked) out.push_back(n);
    }
    return out;
}

}  // namespace hostd
