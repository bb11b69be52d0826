#pragma once

#include "ControlProtocol.h"
#include "PluginOperations.h"

namespace hostd {

void addHostctlCommands(ControlCommands& commands, PluginOperations& operations);
    /// Registers hostctl's commands (status, list, reload, start, stop, restart, log-level, top)
    /// on commands, answering from operations. Each command that changes something is refused
    /// while draining and leaves an audit line (peer pid and uid) whatever the log level.
    /// operations must outlive commands.

}  // namespace hostd
