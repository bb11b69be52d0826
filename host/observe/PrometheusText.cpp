#include "PrometheusText.h"

#include <charconv>
#include <cmath>

namespace hostd {

std::string PrometheusText::escapeLabelValue(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string PrometheusText::escapeHelp(std::string_view help) {
    std::string out;
    for (char c : help) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string PrometheusText::formatValue(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
    return ec == std::errc() ? std::string(buf, end) : "NaN";
}

void PrometheusText::family(std::string_view name, std::string_view type, std::string_view help) {
    _out.append("# HELP ").append(name).append(" ").append(escapeHelp(help)).append("\n");
    _out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void PrometheusText::sample(std::string_view name, const Labels& labels, double value) {
    _out.append(name);
    if (!labels.empty()) {
        _out += '{';
        bool first = true;
        for (const auto& [key, v] : labels) {
            if (!first) _out += ',';
            first = false;
            _out.append(key).append("=\"").append(escapeLabelValue(v)).append("\"");
        }
        _out += '}';
    }
    _out.append(" ").append(formatValue(value)).append("\n");
}

void PrometheusText::histogram(std::string_view name, const Labels& labels, const std::vector<double>& bounds,
                               const std::vector<unsigned long long>& counts, double sum) {
    std::string bucket = std::string(name) + "_bucket";
    unsigned long long cumulative = 0;
    Labels withLe = labels;
    withLe.emplace_back("le", "");
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        cumulative += i < counts.size() ? counts[i] : 0;
        withLe.back().second = formatValue(bounds[i]);
        sample(bucket, withLe, static_cast<double>(cumulative));
    }
    if (counts.size() > bounds.size()) cumulative += counts[bounds.size()];
    withLe.back().second = "+Inf";
    sample(bucket, withLe, static_cast<double>(cumulative));
    sample(std::string(name) + "_sum", labels, sum);
    sample(std::string(name) + "_count", labels, static_cast<double>(cumulative));
}

}  // namespace hostd
