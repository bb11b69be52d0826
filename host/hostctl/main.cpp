// hostctl: talks to a running hostd over its control socket (README "hostctl").
#include "Client.h"
#include "Config.h"
#include "ControlProtocol.h"
#include "ControlSocket.h"
#include "Output.h"

#include <Poco/JSON/Parser.h>

#include <iostream>
#include <optional>
#include <sstream>
#include <vector>

namespace hostctl {

namespace {

/// A command and its positional arguments: the request fields they fill, in order.
struct CommandSpec {
    const char* name;
    std::vector<const char*> required;
    std::vector<const char*> optional;
    const char* help;
};

const std::vector<CommandSpec> kCommands{
    {"status", {}, {}, "host phase, pid, uptime, configuration generation, plugins by state, last reload"},
    {"list", {}, {}, "every plugin: state, reason, version, file, content, loaded since, last error, requires"},
    {"reload", {}, {"plugin"}, "re-read the configuration (like SIGHUP), or call one plugin's reload"},
    {"start", {"plugin"}, {}, "start a stopped, failed or quarantined plugin (lifts the quarantine)"},
    {"stop", {"plugin"}, {}, "stop a plugin, its dependents first; it stays stopped until start"},
    {"restart", {"plugin"}, {}, "stop and start a plugin (its dependents too), or start it if it is not running"},
    {"log-level", {"level"}, {"plugin"}, "set the host's log level, or one plugin's, until the next reload"},
    {"top", {}, {}, "CPU per plugin: in its callbacks and in its own (tagged) threads, busiest first"},
};

void printHelp(std::ostream& out) {
    out << "usage: hostctl [--socket=PATH | --config=FILE] [--json] COMMAND [ARGS]\n\n"
           "Controls a running hostd over its control socket.\n\n"
           "commands:\n";
    for (const auto& c : kCommands) {
        std::string usage = c.name;
        for (auto a : c.required) usage += std::string(" ") + (std::string(a) == "plugin" ? "NAME" : "LEVEL");
        for (auto a : c.optional) usage += std::string(" [") + (std::string(a) == "plugin" ? "NAME" : "LEVEL") + "]";
        out << "  " << usage << std::string(usage.size() < 24 ? 24 - usage.size() : 1, ' ') << c.help << "\n";
    }
    out << "\noptions:\n"
           "  --socket=PATH           the control socket (default: control_socket of the configuration)\n"
           "  --config=FILE           the configuration naming the socket (default /etc/hostd.conf)\n"
           "  --json                  print hostd's reply as it is (one JSON object)\n"
           "  -h, --help              this help\n\n"
           "start, stop, restart and reload NAME return once hostd has accepted the action;\n"
           "hostctl list shows where it got to.\n\n"
           "exit codes: 0 done; 1 hostd refused the command (unknown plugin, wrong state, ...);\n"
           "64 bad usage; 69 hostd is not running or did not answer; 77 permission denied;\n"
           "78 the configuration naming the socket is invalid.\n";
}

struct Options {
    std::optional<std::string> socket, config;
    bool json = false;
    std::vector<std::string> words;
};

Options parseOptions(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            printHelp(std::cout);
            std::exit(kOk);
        } else if (a.starts_with("--socket=")) {
            o.socket = a.substr(9);
        } else if (a.starts_with("--config=")) {
            o.config = a.substr(9);
        } else if (a == "--json") {
            o.json = true;
        } else if (a.starts_with("-") && a != "-") {
            throw Failure(kUsage, "unknown option " + a + " (see --help)");
        } else {
            o.words.push_back(a);
        }
    }
    if (o.socket && o.socket->empty()) throw Failure(kUsage, "--socket needs a path");
    if (o.words.empty()) throw Failure(kUsage, "no command given (see --help)");
    return o;
}

std::string requestLine(const std::vector<std::string>& words) {
    const CommandSpec* spec = nullptr;
    for (const auto& c : kCommands)
        if (words[0] == c.name) spec = &c;
    if (spec == nullptr) throw Failure(kUsage, "unknown command '" + words[0] + "' (see --help)");
    std::size_t args = words.size() - 1;
    if (args < spec->required.size() || args > spec->required.size() + spec->optional.size())
        throw Failure(kUsage, "wrong number of arguments for " + words[0] + " (see --help)");
    Poco::JSON::Object request;
    request.set("v", hostd::kControlProtocolVersion);
    request.set("cmd", words[0]);
    for (std::size_t i = 0; i < args; ++i)
        request.set(i < spec->required.size() ? spec->required[i] : spec->optional[i - spec->required.size()], words[i + 1]);
    std::ostringstream out;
    request.stringify(out);
    return out.str();
}

/// Where hostd listens, and the user it is configured to run as (empty if unknown).
struct Server {
    std::string socket;
    std::string user;
};

Server server(const Options& o) {
    if (o.socket) {
        // The configuration, if there is a readable one, still says which user hostd runs as.
        hostd::ConfigLoad load = hostd::loadConfig(o.config.value_or("/etc/hostd.conf"), false);
        return {*o.socket, load.ok() ? load.config->host.user : ""};
    }
    std::string file = o.config.value_or("/etc/hostd.conf");
    hostd::ConfigLoad load = hostd::loadConfig(file, o.config.has_value());
    if (!load.ok()) {
        for (const auto& issue : load.issues)
            if (!issue.warning) std::cerr << issue.str() << "\n";
        if (o.config) throw Failure(kConfig, "cannot take the socket path from " + file + " (invalid configuration)");
        std::cerr << "hostctl: warning: cannot use " << file << "; trying " << hostd::ControlSocket::kDefaultPath << "\n";
        return {hostd::ControlSocket::kDefaultPath, ""};
    }
    if (load.config->host.controlSocket.empty())
        throw Failure(kConfig, "the control socket is disabled in " + file + " (control_socket is empty)");
    return {load.config->host.controlSocket, load.config->host.user};
}

int run(int argc, char** argv) {
    Options o = parseOptions(argc, argv);
    std::string request = requestLine(o.words);
    Server to = server(o);
    std::string line = exchange(to.socket, request, trustedServerUids(to.socket, to.user));
    Poco::JSON::Object::Ptr reply;
    try {
        reply = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
    } catch (const std::exception&) {
        throw Failure(kUnavailable, "unreadable reply from hostd: " + line.substr(0, 200));  // printed escaped
    }
    if (o.json) std::cout << printable(line, false) << "\n";
    if (!reply->optValue<bool>("ok", false)) {
        std::string error = reply->optValue<std::string>("error", "hostd refused the command");
        throw Failure(error == "permission denied" ? kNoPermission : kRefused, error);
    }
    if (!o.json) {
        std::ostringstream human;
        printHuman(o.words[0], *reply, human);
        std::cout << printable(human.str(), true);
    }
    return kOk;
}

}  // namespace

}  // namespace hostctl

int main(int argc, char** argv) {
    try {
        return hostctl::run(argc, argv);
    } catch (const hostctl::Failure& f) {
        std::cerr << "hostctl: " << hostctl::printable(f.what(), false) << "\n";
        return f.code;
    } catch (const std::exception& e) {
        std::cerr << "hostctl: " << hostctl::printable(e.what(), false) << "\n";
        return hostctl::kUnavailable;
    }
}
