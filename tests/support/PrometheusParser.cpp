#include "PrometheusParser.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <regex>
#include <set>
#include <sstream>

namespace hostd::test {

namespace {

const std::regex kMetricName("[a-zA-Z_:][a-zA-Z0-9_:]*");
const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");

bool parseValue(const std::string& s, double& out) {
    if (s == "+Inf" || s == "Inf") { out = std::numeric_limits<double>::infinity(); return true; }
    if (s == "-Inf") { out = -std::numeric_limits<double>::infinity(); return true; }
    if (s == "NaN") { out = std::numeric_limits<double>::quiet_NaN(); return true; }
    if (s.empty() || s.find_first_not_of("0123456789.eE+-") != std::string::npos) return false;
    char* end = nullptr;
    out = std::strtod(s.c_str(), &end);
    return end == s.c_str() + s.size();
}

/// The family a sample name belongs to, given the family types seen so far.
std::string familyOf(const std::string& sample, const std::map<std::string, PromFamily>& families) {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        std::string s = suffix;
        if (sample.size() > s.size() && sample.compare(sample.size() - s.size(), s.size(), s) == 0) {
            std::string base = sample.substr(0, sample.size() - s.size());
            auto it = families.find(base);
            if (it != families.end() && (it->second.type == "histogram" || it->second.type == "summary")) return base;
        }
    }
    return sample;
}

class Parser {
public:
    PromText run(const std::string& text) {
        if (!text.empty() && text.back() != '\n') error(0, "text does not end with a newline");
        std::istringstream in(text);
        std::string line;
        for (int n = 1; std::getline(in, line); ++n) {
            if (line.empty()) continue;
            if (line.rfind("# HELP ", 0) == 0) meta(n, line.substr(7), true);
            else if (line.rfind("# TYPE ", 0) == 0) meta(n, line.substr(7), false);
            else if (line[0] == '#') continue;
            else sampleLine(n, line);
        }
        finish();
        return std::move(_out);
    }

private:
    void error(int line, const std::string& what) { _out.errors.push_back("line " + std::to_string(line) + ": " + what); }

    void meta(int n, const std::string& rest, bool help) {
        auto space = rest.find(' ');
        std::string name = rest.substr(0, space), value = space == std::string::npos ? "" : rest.substr(space + 1);
        if (!std::regex_match(name, kMetricName)) error(n, "invalid metric name '" + name + "'");
        PromFamily& f = _out.families[name];
        f.name = name;
        if (!f.samples.empty()) error(n, name + ": HELP/TYPE after its samples");
        if (help) {
            if (_helped.count(name)) error(n, name + ": second HELP");
            _helped.insert(name);
            for (std::size_t i = 0; i < value.size(); ++i)
                if (value[i] == '\\' && (i + 1 >= value.size() || (value[i + 1] != '\\' && value[i + 1] != 'n')))
                    error(n, name + ": invalid escape in HELP");
                else if (value[i] == '\\')
                    ++i;
            f.help = value;
        } else {
            if (!f.type.empty()) error(n, name + ": second TYPE");
            static const std::set<std::string> kTypes{"counter", "gauge", "histogram", "summary", "untyped"};
            if (!kTypes.count(value)) error(n, name + ": unknown type '" + value + "'");
            if (value == "counter" && (name.size() < 6 || name.compare(name.size() - 6, 6, "_total") != 0))
                error(n, name + ": a counter's name must end in _total");
            f.type = value;
        }
        _current = name;
    }

    bool labels(int n, const std::string& line, std::size_t& i, std::map<std::string, std::string>& out) {
        ++i;  // '{'
        while (i < line.size() && line[i] != '}') {
            std::size_t eq = line.find('=', i);
            if (eq == std::string::npos) return error(n, "label without '='"), false;
            std::string key = line.substr(i, eq - i);
            if (!std::regex_match(key, kLabelName)) error(n, "invalid label name '" + key + "'");
            i = eq + 1;
            if (i >= line.size() || line[i] != '"') return error(n, "label value not quoted"), false;
            std::string value;
            for (++i; i < line.size() && line[i] != '"'; ++i) {
                if (line[i] == '\\') {
                    char c = i + 1 < line.size() ? line[i + 1] : '\0';
                    if (c != '\\' && c != '"' && c != 'n') error(n, "invalid escape in label value");
                    value += c == 'n' ? '\n' : c;
                    ++i;
                } else {
                    value += line[i];
                }
            }
            if (i >= line.size()) return error(n, "unterminated label value"), false;
            ++i;  // closing quote
            if (!out.emplace(key, value).second) error(n, "label '" + key + "' repeated");
            if (i < line.size() && line[i] == ',') ++i;
        }
        if (i >= line.size()) return error(n, "labels not closed"), false;
        ++i;  // '}'
        return true;
    }

    void sampleLine(int n, const std::string& line) {
        PromSample s;
        std::size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
        s.name = line.substr(0, i);
        if (!std::regex_match(s.name, kMetricName)) error(n, "invalid sample name '" + s.name + "'");
        if (i < line.size() && line[i] == '{' && !labels(n, line, i, s.labels)) return;
        if (i >= line.size() || line[i] != ' ') return error(n, "no value");
        std::istringstream rest(line.substr(i + 1));
        std::string value, timestamp, extra;
        rest >> value >> timestamp >> extra;
        if (!parseValue(value, s.value)) error(n, "invalid value '" + value + "'");
        if (!extra.empty()) error(n, "trailing text");
        std::string family = familyOf(s.name, _out.families);
        auto it = _out.families.find(family);
        if (it == _out.families.end() || it->second.type.empty()) return error(n, s.name + ": sample without a TYPE");
        if (family != _current) error(n, s.name + ": samples of " + family + " are not contiguous");
        if (it->second.type == "counter" && !(s.value >= 0)) error(n, s.name + ": a counter must be >= 0");
        std::ostringstream key;
        key << s.name;
        for (const auto& [k, v] : s.labels) key << '\n' << k << '=' << v;
        if (!_series.insert(key.str()).second) error(n, "duplicate series " + s.name);
        it->second.samples.push_back(std::move(s));
    }

    void finish() {
        for (const auto& [name, f] : _out.families) {
            if (!_helped.count(name)) error(0, name + ": no HELP");
            if (f.type.empty()) error(0, name + ": no TYPE");
            if (f.type == "histogram") histogram(f);
        }
    }

    void histogram(const PromFamily& f) {
        struct Series { std::vector<std::pair<double, double>> buckets; double count = NAN; bool sum = false; };
        std::map<std::map<std::string, std::string>, Series> series;
        for (const auto& s : f.samples) {
            auto labels = s.labels;
            if (s.name == f.name + "_bucket") {
                auto le = labels.find("le");
                double bound = 0;
                if (le == labels.end() || !parseValue(le->second, bound)) {
                    error(0, f.name + ": bucket without a valid le");
                    continue;
                }
                labels.erase(le);
                series[labels].buckets.emplace_back(bound, s.value);
            } else if (s.name == f.name + "_count") {
                series[labels].count = s.value;
            } else if (s.name == f.name + "_sum") {
                series[labels].sum = true;
            } else {
                error(0, f.name + ": unexpected sample " + s.name);
            }
        }
        for (const auto& [labels, s] : series) {
            for (std::size_t i = 1; i < s.buckets.size(); ++i) {
                if (!(s.buckets[i].first > s.buckets[i - 1].first)) error(0, f.name + ": le not ascending");
                if (s.buckets[i].second < s.buckets[i - 1].second) error(0, f.name + ": buckets not cumulative");
            }
            if (s.buckets.empty() || !std::isinf(s.buckets.back().first)) error(0, f.name + ": no +Inf bucket");
            else if (s.buckets.back().second != s.count) error(0, f.name + ": +Inf bucket differs from _count");
            if (!s.sum) error(0, f.name + ": no _sum");
        }
    }

    PromText _out;
    std::set<std::string> _helped, _series;
    std::string _current;
};

}  // namespace

const PromSample* PromText::find(const std::string& name, const std::map<std::string, std::string>& labels) const {
    for (const auto& [_, f] : families)
        for (const auto& s : f.samples) {
            if (s.name != name) continue;
            bool all = true;
            for (const auto& [k, v] : labels) {
                auto it = s.labels.find(k);
                all = all && it != s.labels.end() && it->second == v;
            }
            if (all) return &s;
        }
    return nullptr;
}

double PromText::value(const std::string& name, const std::map<std::string, std::string>& labels) const {
    const PromSample* s = find(name, labels);
    return s ? s->value : std::numeric_limits<double>::quiet_NaN();
}

PromText parsePrometheusText(const std::string& text) { return Parser().run(text); }

}  // namespace hostd::test
