#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>

namespace hostd {

/// Processes plugins leave behind (plugin.h: a plugin that forks must reap what it forked before
/// its stop returns). hostd is the subreaper of everything forked in it, so a grandchild
/// orphaned by a plugin's child becomes hostd's, and at exit hostd ends what is still there:
/// a child that did not exec keeps copies of hostd's descriptors (the pidfile's lock, the
/// control socket, every plugin's memfd) for as long as it lives.

void becomeSubreaper();
    /// PR_SET_CHILD_SUBREAPER; before any plugin loads.

void forkedBy(pid_t pid, const std::string& plugin);
    /// Remembers which plugin forked pid (hostd's fork(), app/ThreadGuard.cpp), for the line
    /// that names it at exit. Thread-safe.

int endLeftoverChildren(std::chrono::milliseconds grace);
    /// Names every process still a child of hostd (pid, command, the plugin that forked it if
    /// hostd saw it: a grandchild orphaned to hostd has none), sends it SIGTERM, and after
    /// grace SIGKILL to what remains; reaps them all. Returns how many there were. Call once
    /// every plugin has stopped: until then a plugin's child may still be its business.

}  // namespace hostd
