// The encoding of a Confinement, shared by hostd (which writes it) and the runner (which reads it).
#include "Confine.h"

namespace hostd::runner {

void Confinement::write(Writer& w) const {
    w.u64(uid).u64(gid).u64(setGroups ? groups.size() : kKeepId);
    for (auto g : groups) w.u64(g);
    w.u64(hasCapabilities ? 1 : 0).u64(capabilities.size());
    for (auto c : capabilities) w.u64(c);
    w.u64(limits.size());
    for (const auto& l : limits) w.u64(l.resource).u64(l.soft).u64(l.hard);
    w.str(filter);
}

Confinement Confinement::read(Reader& in) {
    Confinement c;
    c.uid = in.u64();
    c.gid = in.u64();
    std::uint64_t n = in.u64();
    c.setGroups = n != kKeepId;
    for (std::uint64_t i = 0; c.setGroups && i < n && !in.bad(); ++i) c.groups.push_back(in.u64());
    c.hasCapabilities = in.u64() != 0;
    n = in.u64();
    for (std::uint64_t i = 0; i < n && !in.bad(); ++i) c.capabilities.push_back(in.u64());
    n = in.u64();
    for (std::uint64_t i = 0; i < n && !in.bad(); ++i) {
        Limit l;
        l.resource = in.u64();
        l.soft = in.u64();
        l.hard = in.u64();
        c.limits.push_back(l);
    }
    c.filter = std::string(in.str());
    return c;
}

}  // namespace hostd::runner
