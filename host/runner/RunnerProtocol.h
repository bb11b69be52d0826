#pragma once

// The messages between hostd and hostd-runner, the process an isolated plugin runs in
// (isolation = process). One SOCK_SEQPACKET socketpair per runner: each send is one whole
// message, so a message is never torn and nothing a plugin prints can reach it (its stdout and
// stderr are pipes of their own). Little-endian fields as the machine lays them out: both ends
// are built from the same tree and the handshake checks the version first.
//
// hostd -> runner: Load, Call, SetStopping; closing the socket asks the runner to unload and exit.
// runner -> hostd: Hello (first, unasked), Loaded, CallDone, Log, ReportFailure.
// Uses: libc only (the runner links no more than it must).

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace hostd::runner {

constexpr std::uint32_t kProtocolVersion = 2;  // 2: the image comes with Load (SCM_RIGHTS)
constexpr int kSocketFd = 3;  ///< The runner's end of the socketpair.
constexpr int kImageFd = 4;   ///< The plugin's private copy (PluginFile::memfd), sent with Load, moved here, dlopened.
constexpr std::size_t kMaxMessage = 64 * 1024;  ///< Bytes of one message, header included.
constexpr std::size_t kMaxLogText = 8 * 1024;   ///< A log line longer than this is cut.

enum class Type : std::uint32_t {
    Hello = 1,          ///< u64 protocol version, u64 ABI major, u64 ABI minor, u64 pid.
    Load = 2,           ///< str plugin name: dlopen the image, check its descriptor.
    Loaded = 3,         ///< code 0: str version, u64 has_reload, u64 n, n x str requires; else str why.
    Call = 4,           ///< id, code = CallKind; start, reload: u64 n, n x (str key, str value); stop: u64 deadline_ns.
    CallDone = 5,       ///< id, code = hostd_type_result, str message.
    Log = 6,            ///< code = hostd_type_log_level, str text.
    ReportFailure = 7,  ///< str text.
    SetStopping = 8,    ///< code = 0 or 1: what hostd_cb_is_stopping answers.
    Confine = 9,        ///< hostd -> runner, before Load: see Confine.h.
    Violation = 10,     ///< runner -> hostd: code = the system call seccomp refused; the runner then dies by SIGSYS.
};

constexpr std::uint64_t kKeepId = ~std::uint64_t{0};  ///< Confine: uid or gid unchanged.

enum class CallKind : std::int32_t { Start = 0, Reload = 1, Stop = 2 };

struct Header {
    std::uint32_t type;
    std::uint32_t id;
    std::int32_t code;
    std::uint32_t reserved;
};

/// Builds one message.
class Writer {
public:
    explicit Writer(Type type, std::uint32_t id = 0, std::int32_t code = 0) {
        Header h{static_cast<std::uint32_t>(type), id, code, 0};
        _bytes.append(reinterpret_cast<const char*>(&h), sizeof h);
    }
    Writer& u64(std::uint64_t v) {
        _bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
        return *this;
    }
    Writer& str(std::string_view s) {
        u64(s.size());
        _bytes.append(s.data(), s.size());
        return *this;
    }
    const std::string& bytes() const noexcept { return _bytes; }
    bool fits() const noexcept { return _bytes.size() <= kMaxMessage; }

private:
    std::string _bytes;
};

/// Reads one message; any field past its end (a short or forged message) makes it bad, and
/// reads as zero or empty, never beyond the bytes received.
class Reader {
public:
    Reader(const char* data, std::size_t size) : _data(data), _size(size) {
        if (size < sizeof _header) {
            _bad = true;
            return;
        }
        std::memcpy(&_header, data, sizeof _header);
        _at = sizeof _header;
    }
    const Header& header() const noexcept { return _header; }
    Type type() const noexcept { return static_cast<Type>(_header.type); }
    std::uint64_t u64() {
        std::uint64_t v = 0;
        if (_size - _at < sizeof v) {
            _bad = true;
            return 0;
        }
        std::memcpy(&v, _data + _at, sizeof v);
        _at += sizeof v;
        return v;
    }
    std::string_view str() {
        std::uint64_t n = u64();
        if (_bad || n > _size - _at) {
            _bad = true;
            return {};
        }
        std::string_view s(_data + _at, n);
        _at += n;
        return s;
    }
    bool bad() const noexcept { return _bad; }

private:
    const char* _data;
    std::size_t _size;
    std::size_t _at = 0;
    Header _header{};
    bool _bad = false;
};

}  // namespace hostd::runner
