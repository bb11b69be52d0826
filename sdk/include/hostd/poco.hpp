// hostd C++ plugin SDK, optional: helpers for plugins built on Poco. Header-only; include it
// only in a plugin that links Poco::Foundation.
//
// Why: hostd logs an exception's what() as the reason a callback failed, and
// Poco::Exception::what() is only the class's name ("I/O error", "Net Exception"); the details
// ("Address already in use: 127.0.0.1:7007") are in displayText(). So a Poco exception that
// reaches the wrapper as a plain std::exception tells the operator almost nothing.
//
//   void start(const hostd::Config& config) override {
//       hostd::withPocoErrors("cannot listen on " + listen, [&] { _socket.bind(address, true); },
//                             HOSTD_ERR_UNAVAILABLE);
//   }
//   // a failure is logged as "cannot listen on 127.0.0.1:7007: Net Exception: Address already in use"
#ifndef HOSTD_POCO_HPP
#define HOSTD_POCO_HPP

#include <hostd/plugin.hpp>

#include <Poco/Exception.h>

#include <string>
#include <string_view>
#include <utility>

namespace hostd {

/// Runs f and returns what it returns. A Poco::Exception escaping f is rethrown as
/// hostd::Error(code, "<what>: <displayText()>"), so the host logs the details; other
/// exceptions pass through unchanged.
template <class F>
decltype(auto) withPocoErrors(std::string_view what, F&& f, hostd_type_result code = HOSTD_ERR_FAILED) {
    try {
        return std::forward<F>(f)();
    } catch (const Poco::Exception& e) {
        throw Error(code, std::string(what) + ": " + e.displayText());
    }
}

}  // namespace hostd

#endif  // HOSTD_POCO_HPP
