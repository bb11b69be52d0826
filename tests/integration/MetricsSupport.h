#pragma once

#include "Harness.h"
#include "PrometheusParser.h"

#include <Poco/JSON/Object.h>

#include <map>
#include <string>

namespace hostd::test {

/// What the metrics endpoint answered.
struct HttpReply {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;
};

/// HostdTest plus an HTTP client for the metrics endpoint (metrics_listen = 127.0.0.1:0; the
/// port is read from the "metrics listening address=..." log line).
class MetricsTest : public HostdTest {
protected:
    std::string metricsSection(const std::string& extra = "") const;
        /// hostSection() with metrics_listen = 127.0.0.1:0 (and state_dir in the test dir).

    int port();
        /// Waits for the listening line; 0 if it never comes.

    HttpReply get(const std::string& path, const std::string& token = "", const std::string& method = "GET");
        /// One request on a new connection (Poco::Net::HTTPClientSession), 20 s timeout.

    PromText scrape(const std::string& token = "");
        /// GET /metrics: asserts 200 and the content type, parses strictly, and runs
        /// `promtool check metrics` on it when promtool is installed. Failures are test failures.

    Poco::JSON::Object::Ptr json(const std::string& path, int expectStatus = 200);
        /// GET path, parsed with Poco::JSON (a parse error is a test failure).

    bool waitForMetric(const std::string& name, const std::map<std::string, std::string>& labels, double atLeast);
        /// Polls /metrics until the sample reaches atLeast.

private:
    int _port = 0;
};

}  // namespace hostd::test
