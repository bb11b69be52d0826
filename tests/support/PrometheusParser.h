#pragma once

#include <map>
#include <string>
#include <vector>

namespace hostd::test {

/// One sample line of the Prometheus text format.
struct PromSample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

/// A metric family: its # HELP and # TYPE, and its samples in order.
struct PromFamily {
    std::string name, type, help;
    std::vector<PromSample> samples;
};

/// The result of a strict parse of the text exposition format 0.0.4. `errors` lists every
/// violation with its line number: bad syntax or escapes, a sample without a preceding TYPE
/// for its family, a family's samples not contiguous, HELP or TYPE repeated or missing,
/// duplicate series, a counter not named *_total or negative, histogram buckets without le,
/// not ascending, not cumulative, or without a +Inf bucket equal to _count, or without _sum.
struct PromText {
    std::map<std::string, PromFamily> families;
    std::vector<std::string> errors;

    const PromSample* find(const std::string& name, const std::map<std::string, std::string>& labels) const;
        /// The sample of that name whose labels include all of `labels`, or nullptr.
    double value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const;
        /// find()'s value, or NaN.
};

PromText parsePrometheusText(const std::string& text);

}  // namespace hostd::test
