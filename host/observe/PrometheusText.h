#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hostd {

/// Writes the Prometheus text exposition format, version 0.0.4: one `# HELP` and `# TYPE` line
/// per metric family, then its samples; label values and help text escaped as the format
/// requires. The caller keeps each family's samples together.
class PrometheusText {
public:
    using Labels = std::vector<std::pair<std::string_view, std::string>>;

    static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

    void family(std::string_view name, std::string_view type, std::string_view help);
        /// Starts a family: type is counter, gauge, histogram, summary or untyped.

    void sample(std::string_view name, const Labels& labels, double value);
        /// One sample line. name is the family's, or for a histogram the family's plus
        /// _bucket, _sum or _count.

    void histogram(std::string_view name, const Labels& labels, const std::vector<double>& bounds,
                   const std::vector<unsigned long long>& counts, double sum);
        /// The _bucket (cumulative, with le, ending in +Inf), _sum and _count samples of one
        /// labelled histogram. counts[i] is the non-cumulative count of bucket i (<= bounds[i]);
        /// counts may have one more entry than bounds: the count above the last bound.

    const std::string& text() const noexcept { return _out; }

    static std::string escapeLabelValue(std::string_view value);
        /// Backslash, double quote and line feed escaped.
    static std::string escapeHelp(std::string_view help);
        /// Backslash and line feed escaped.
    static std::string formatValue(double value);
        /// Integers without a fraction, +Inf, -Inf, NaN, else the shortest exact decimal.

private:
    std::string _out;
};

}  // namespace hostd
