#include "MetricsSupport.h"

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

namespace hostd::test {

std::string MetricsTest::metricsSection(const std::string& extra) const {
    return hostSection("state_dir = " + path("") + "\nmetrics_listen = 127.0.0.1:0\n" + extra);
}

int MetricsTest::port() {
    if (_port != 0) return _port;
    static const std::regex kLine("metrics listening address=127\\.0\\.0\\.1:([0-9]+)");
    std::smatch m;
    waitUntil([&] {
        std::string text = log();
        if (!std::regex_search(text, m, kLine)) return false;
        _port = std::stoi(m[1]);
        return true;
    }, 15s);
    return _port;
}

HttpReply MetricsTest::get(const std::string& target, const std::string& token, const std::string& method) {
    HttpReply reply;
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port()));
    session.setTimeout(Poco::Timespan(20, 0));  // past the server's 10 s connection deadline
    Poco::Net::HTTPRequest request(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!token.empty()) request.set("Authorization", "Bearer " + token);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& body = session.receiveResponse(response);
    Poco::StreamCopier::copyToString(body, reply.body);
    reply.status = response.getStatus();
    for (const auto& [k, v] : response) reply.headers[k] = v;
    return reply;
}

PromText MetricsTest::scrape(const std::string& token) {
    HttpReply r = get("/metrics", token);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8");
    PromText parsed = parsePrometheusText(r.body);
    EXPECT_TRUE(parsed.errors.empty()) << ::testing::PrintToString(parsed.errors) << "\n" << r.body;
    for (const char* promtool : {"/usr/bin/promtool", "/usr/local/bin/promtool"}) {
        if (!std::filesystem::exists(promtool)) continue;
        std::string file = path("metrics.txt");
        std::ofstream(file) << r.body;
        EXPECT_EQ(std::system((std::string(promtool) + " check metrics < " + file).c_str()), 0) << r.body;
        break;
    }
    return parsed;
}

Poco::JSON::Object::Ptr MetricsTest::json(const std::string& target, int expectStatus) {
    HttpReply r = get(target);
    EXPECT_EQ(r.status, expectStatus) << r.body;
    EXPECT_EQ(r.headers["Content-Type"], "application/json");
    try {
        Poco::JSON::Parser parser;
        return parser.parse(r.body).extract<Poco::JSON::Object::Ptr>();
    } catch (const Poco::Exception& e) {
        ADD_FAILURE() << target << ": not JSON: " << e.displayText() << "\n" << r.body;
        return new Poco::JSON::Object;
    }
}

bool MetricsTest::waitForMetric(const std::string& name, const std::map<std::string, std::string>& labels,
                                double atLeast) {
    return waitUntil([&] {
        double v = parsePrometheusText(get("/metrics").body).value(name, labels);
        return !std::isnan(v) && v >= atLeast;
    }, 15s);
}

}  // namespace hostd::test
