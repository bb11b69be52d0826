#pragma once

#include <Poco/Net/HTTPResponse.h>

#include <map>
#include <string>

namespace hostd {

/// One response of the metrics endpoint, before it is written.
struct HttpAnswer {
    Poco::Net::HTTPResponse::HTTPStatus status = Poco::Net::HTTPResponse::HTTP_OK;
    std::string contentType;
    std::string body;
    std::map<std::string, std::string> headers;  ///< Besides Content-Type, Content-Length, Cache-Control.

    static HttpAnswer error(Poco::Net::HTTPResponse::HTTPStatus status, const std::string& message);
        /// {"error": message} as JSON.

    std::string serialize() const;
        /// Status line, headers (Connection: close: one request per connection) and body.
};

HttpAnswer routeMetrics(const std::string& target);
    /// The answer to an authorised GET of target (path and query): /metrics, /healthz,
    /// /readyz, /debug/threads, /debug/plugins, /debug/memory, or 404. Reads the StatusBoard
    /// and /proc: runs on a ConnectionPool worker, never on the loop.

}  // namespace hostd
