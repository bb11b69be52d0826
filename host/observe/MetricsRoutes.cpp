#include "MetricsRoutes.h"

#include "JsonWriter.h"
#include "Metrics.h"
#include "PrometheusText.h"
#include "StatusBoard.h"

#include <sstream>

namespace hostd {

using Poco::Net::HTTPResponse;

HttpAnswer HttpAnswer::error(HTTPResponse::HTTPStatus status, const std::string& message) {
    return {status, "application/json", "{\"error\":" + JsonWriter::quote(message) + "}\n", {}};
}

std::string HttpAnswer::serialize() const {
    HTTPResponse response(Poco::Net::HTTPMessage::HTTP_1_1, status);
    response.setContentType(contentType);
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    response.set("Cache-Control", "no-store");
    response.set("Server", "hostd");
    response.setKeepAlive(false);
    for (const auto& [name, value] : headers) response.set(name, value);
    std::ostringstream out;
    response.write(out);
    return out.str() + body;
}

HttpAnswer routeMetrics(const std::string& target) {
    std::string path = target.substr(0, target.find('?'));
    const char* json = "application/json";
    if (path == "/metrics")
        return {HTTPResponse::HTTP_OK, std::string(PrometheusText::kContentType),
                renderMetrics(StatusBoard::instance().snapshot(), ProcessStats::read()), {}};
    if (path == "/healthz" || path == "/readyz") {
        auto snapshot = StatusBoard::instance().snapshot();
        Health h = path == "/healthz" ? checkHealth(snapshot) : checkReady(snapshot);
        return {h.ok ? HTTPResponse::HTTP_OK : HTTPResponse::HTTP_SERVICE_UNAVAILABLE, json, h.json, {}};
    }
    if (path == "/debug/threads") return {HTTPResponse::HTTP_OK, json, threadsJson(StatusBoard::instance().snapshot()), {}};
    if (path == "/debug/plugins") return {HTTPResponse::HTTP_OK, json, pluginUsageJson(pluginUsage()), {}};
    if (path == "/debug/memory") return {HTTPResponse::HTTP_OK, json, memoryJson(), {}};
    return HttpAnswer::error(HTTPResponse::HTTP_NOT_FOUND,
                             "no such endpoint; try /metrics, /healthz, /readyz, /debug/threads, /debug/plugins, /debug/memory");
}

}  // namespace hostd
