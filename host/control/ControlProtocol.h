#pragma once

#include <Poco/JSON/Object.h>

#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace hostd {

/// hostctl's protocol: one JSON object per line each way, over the control socket.
///
///     request:  {"v":1,"cmd":"stop","plugin":"echo"}          (also "level" for log-level)
///     reply:    {"v":1,"ok":true,...}   or   {"v":1,"ok":false,"error":"unknown plugin echo"}
///
/// "v" is the protocol version: a request with another version gets an error naming the one
/// this hostd speaks. New fields may be added to replies; clients ignore what they do not know.
/// Requests are strict: unknown fields, wrong types and anything but a flat object are errors.
constexpr int kControlProtocolVersion = 1;
constexpr std::size_t kControlMaxLine = 64 * 1024;  ///< Longest request line, newline excluded.

/// Who is on the other end of a connection (SO_PEERCRED).
struct ControlPeer {
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
};

/// A parsed request.
struct ControlRequest {
    std::string cmd;
    std::string plugin;  ///< Empty if not given.
    std::string level;   ///< For log-level.
    ControlPeer peer;
};

/// A request the daemon refuses: the message goes to the client as "error".
class ControlError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

ControlRequest parseControlRequest(std::string_view line);
    /// Throws ControlError for anything but a valid request of this protocol version (numbers
    /// too large for a protocol version are refused, not wrapped).

std::string validUtf8(std::string_view text);
    /// text with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD: a
    /// reply line must parse whatever a peer or a plugin put in it.

std::string utf8Prefix(std::string_view text, std::size_t maxBytes);
    /// validUtf8(text), cut to at most maxBytes at a character boundary: for echoing what a
    /// peer sent in an error.

std::string controlReplyLine(const Poco::JSON::Object::Ptr& reply);
    /// The reply with "v" and "ok": true added, as one line (newline included).

std::string controlErrorLine(const std::string& error);
    /// {"v":1,"ok":false,"error":...} as one line.

/// The commands the control socket offers: a name and a handler each, so that a new command
/// is one add() call. Handlers run on the Supervisor's thread.
class ControlCommands {
public:
    using Handler = std::function<Poco::JSON::Object::Ptr(const ControlRequest&)>;
        /// Returns the reply's fields; throws ControlError to refuse.

    void add(std::string name, Handler handler);

    std::string dispatch(std::string_view line, const ControlPeer& peer) const;
        /// Parses the line, runs its command, and returns the reply line; never throws.

private:
    std::map<std::string, Handler, std::less<>> _handlers;
};

}  // namespace hostd
