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
    return validUtf8(out.str());  // Poco copies invalid bytes as they are; hostctl's parser refuses them
}

/// Length of the valid UTF-8 sequence at the start of text (RFC 3629: no overlongs, no
/// surrogates, nothing above U+10FFFF), or 0.
std::size_t sequenceLength(std::string_view text) {
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    unsigned char c = byte(0);
    if (c < 0x80) return 1;
    std::size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (n == 0 || text.size() < n) return 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    if (byte(1) < lo || byte(1) > hi) return 0;
    for (std::size_t i = 2; i < n; ++i)
        if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
    return n;
}

/// Refuses integer literals with more digits than any protocol number has: Poco's parser
/// wraps 18446744073709551617 to 1.
void refuseHugeNumbers(std::string_view line) {
    bool inString = false;
    std::size_t digits = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (inString) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                inString = false;
            continue;
        }
        if (c == '"') inString = true;
        digits = c >= '0' && c <= '9' ? digits + 1 : 0;
        if (digits > 9) throw ControlError("number out of range in the request");
    }
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
    refuseHugeNumbers(line);
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

std::string validUtf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    while (!text.empty()) {
        std::size_t n = sequenceLength(text);
        if (n == 0) {
            out += "\xEF\xBF\xBD";  // U+FFFD
            n = 1;
        } else {
            out.append(text.substr(0, n));
        }
        text.remove_prefix(n);
    }
    return out;
}

std::string utf8Prefix(std::string_view text, std::size_t maxBytes) {
    std::string valid = validUtf8(text);
    if (valid.size() <= maxBytes) return valid;
    std::size_t cut = maxBytes;
    while (cut > 0 && (static_cast<unsigned char>(valid[cut]) & 0xC0) == 0x80) --cut;  // inside a character
    return valid.substr(0, cut);
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
            throw ControlError("unknown command '" + utf8Prefix(request.cmd, 64) + "' (known: " + known + ")");
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
