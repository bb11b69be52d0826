#pragma once

#include <Poco/JSON/Object.h>

#include <ostream>
#include <string>

namespace hostctl {

void printHuman(const std::string& cmd, const Poco::JSON::Object& reply, std::ostream& out);
    /// A successful reply as an operator reads it: key/value lines for status, a table for
    /// list, one line for the other commands.

}  // namespace hostctl
