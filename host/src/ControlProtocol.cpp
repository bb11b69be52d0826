#include "ControlProtocol.h"

#include "Log.h"

#include <Poco/JSON/Parser.h>

#include <sstream>

namespace hostd {

namespace {

std::string str(const Poco::JSON::Object& o) {
    std::ostringstream out;
    o.stringify(out);  // compact: no newline inside, whatever the strings hold (they are escaped)
    out << '\n';
    return out.str();
}

std::string stringField(const Poco::JSON::Object& o, const std::string& key) {
    Poco::Dynamic::Var v = o.get(key);
    if (v.isEmpty()) return {};
    if (!v.isString()) throw ControlError("\"" + key + "\" must be a string");
    return v.extract<std::string>();
}

}  // namespace

ControlRequest parseControlRequest(std::string_view line) {
    if (line.size() > kControlMaxLine) throw ControlError("request too long");
    Poco::Dynamic::Var parsed;
    try {
        Poco::JSON::Parser parser;
        parser.setDepth(2);  // a flat object; deep nesting is refused before it costs anything
        parsed = parser.parse(std::string(line));
    } catch (const Poco::Exception& e) {
        throw ControlError("malformed request: not a JSON object (" + e.message() + ")");
    } catch (const std::exception& e) {
        throw ControlError(std::string("malformed request: ") + e.what());
    }
    if (parsed.type() != typeid(Poco::JSON::Object::Ptr)) throw ControlError("malformed request: not a JSON object");
    auto o = parsed.extract<Poco::JSON::Object::Ptr>();
    for (const auto& [key, _] : *o)
        if (key != "v" && key != "cmd" && key != "plugin" && key != "level")
            throw ControlError("unknown request field \"" + key + "\"");
    Poco::Dynamic::Var v = o->get("v");
    if (v.isEmpty() || !v.isInteger()) throw ControlError("missing protocol version \"v\"");
    if (v.convert<long long>() != kControlProtocolVersion)
        throw ControlError("unsupported protocol version " + v.toString() + " (this hostd speaks " +
                           std::to_string(kControlProtocolVersion) + ")");
    ControlRequest r;
    r.cmd = stringField(*o, "cmd");
    if (r.cmd.empty()) throw ControlError("missing \"cmd\"");
    r.plugin = stringField(*o, "plugin");
    r.level = stringField(*o, "level");
    return r;
}

std::string controlReplyLine(const Poco::JSON::Object::Ptr& reply) {
    Poco::JSON::Object out(*reply);
    out.set("v", kControlProtocolVersion);
    out.set("ok", true);
    return str(out);
}

std::string controlErrorLine(const std::string& error) {
    Poco::JSON::Object out;
    out.set("v", kControlProtocolVersion);
    out.set("ok", false);
    out.set("error", error);
    return str(out);
}

void ControlCommands::add(std::string name, Handler handler) { _handlers.insert_or_assign(std::move(name), std::move(handler)); }

std::string ControlCommands::dispatch(std::string_view line, const ControlPeer& peer) const {
    try {
        ControlRequest request = parseControlRequest(line);
        request.peer = peer;
        auto it = _handlers.find(request.cmd);
        if (it == _handlers.end()) {
            std::string known;
            for (const auto& [name, _] : _handlers) known += (known.empty() ? "" : ", ") + name;
            // The name comes from the peer: bounded, so an error reply never echoes 64 KiB.
            throw ControlError("unknown command '" + request.cmd.substr(0, 64) + "' (known: " + known + ")");
        }
        return controlReplyLine(it->second(request));
    } catch (const ControlError& e) {
        return controlErrorLine(e.what());
    } catch (const std::exception& e) {
        HOSTD_LOG(Error, "", "control command failed", {"error", e.what()});
        return controlErrorLine(std::string("internal error: ") + e.what());
    }
}

}  // namespace hostd
