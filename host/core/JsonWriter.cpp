#include "JsonWriter.h"

#include "LogFormat.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace hostd {

std::string JsonWriter::quote(std::string_view s) {
    std::string out;
    appendJsonString(out, s);  // the log's escaping: one definition of valid JSON text
    return out;
}

void JsonWriter::separate() {
    if (_afterKey) {
        _afterKey = false;
        return;
    }
    if (!_first.empty()) {
        if (!_first.back()) _out += ',';
        _first.back() = false;
    }
}

JsonWriter& JsonWriter::beginObject() {
    separate();
    _out += '{';
    _first.push_back(true);
    return *this;
}

JsonWriter& JsonWriter::endObject() {
    _out += '}';
    _first.pop_back();
    return *this;
}

JsonWriter& JsonWriter::beginArray() {
    separate();
    _out += '[';
    _first.push_back(true);
    return *this;
}

JsonWriter& JsonWriter::endArray() {
    _out += ']';
    _first.pop_back();
    return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
    separate();
    _out += quote(k);
    _out += ':';
    _afterKey = true;
    return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
    separate();
    _out += quote(s);
    return *this;
}

JsonWriter& JsonWriter::value(double d) {
    separate();
    if (!std::isfinite(d)) {
        _out += "null";
        return *this;
    }
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    _out.append(buf, ec == std::errc() ? end : buf);
    return *this;
}

JsonWriter& JsonWriter::value(long long n) {
    separate();
    _out += std::to_string(n);
    return *this;
}

JsonWriter& JsonWriter::value(unsigned long long n) {
    separate();
    _out += std::to_string(n);
    return *this;
}

JsonWriter& JsonWriter::null() {
    separate();
    _out += "null";
    return *this;
}

JsonWriter& JsonWriter::value(bool b) {
    separate();
    _out += b ? "true" : "false";
    return *this;
}

}  // namespace hostd
