// Helpers of the logging tests (LoggingTest.cpp, LogFileTest.cpp).
#pragma once

#include "Harness.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <sstream>
#include <string>
#include <vector>

namespace hostd::test {

inline std::vector<std::string> splitLines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

inline int countIn(const std::string& text, const std::string& needle) {
    int n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) ++n;
    return n;
}

inline bool waitForText(const std::string& file, const std::string& needle, std::chrono::milliseconds timeout = 15s) {
    return waitUntil([&] { return readFile(file).find(needle) != std::string::npos; }, timeout);
}

/// Parses one JSON log line; a test failure (and nullptr) if it is not one JSON object.
inline Poco::JSON::Object::Ptr parseJsonLine(const std::string& line) {
    try {
        Poco::JSON::Parser parser;
        auto object = parser.parse(line).extract<Poco::JSON::Object::Ptr>();
        if (!object) ADD_FAILURE() << "not an object: " << line;
        return object;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "invalid JSON (" << e.what() << "): " << line;
        return nullptr;
    }
}

}  // namespace hostd::test
