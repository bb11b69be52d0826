#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hostd {

/// Builds one JSON document left to right: objects, arrays, keys and scalars, with commas and
/// string escaping handled here (control characters as \u00XX; bytes that are not valid UTF-8
/// become U+FFFD, so the output is always valid JSON whatever a plugin named its thread).
class JsonWriter {
public:
    JsonWriter& beginObject();
    JsonWriter& endObject();
    JsonWriter& beginArray();
    JsonWriter& endArray();
    JsonWriter& key(std::string_view k);
        /// Inside an object: the next value's key.
    JsonWriter& value(std::string_view s);
    JsonWriter& value(const char* s) { return value(std::string_view(s)); }
    JsonWriter& value(double d);
        /// Non-finite numbers are written as null.
    JsonWriter& value(long long n);
    JsonWriter& value(unsigned long long n);
    JsonWriter& value(int n) { return value(static_cast<long long>(n)); }
    JsonWriter& value(bool b);
    JsonWriter& null();

    template <class T>
    JsonWriter& field(std::string_view k, const T& v) { return key(k).value(v); }
        /// key(k).value(v).

    const std::string& str() const noexcept { return _out; }

    static std::string quote(std::string_view s);
        /// s as a JSON string literal, quotes included.

private:
    void separate();
    std::string _out;
    std::vector<bool> _first;  // per open container: nothing written in it yet
    bool _afterKey = false;
};

}  // namespace hostd
