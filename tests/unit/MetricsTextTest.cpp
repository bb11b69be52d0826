// The Prometheus text writer, /metrics rendered from a status board snapshot, the strict parser
// the integration tests rely on, the JSON writer and the load-failure labels.
#include "CallRunner.h"
#include "JsonWriter.h"
#include "Metrics.h"
#include "PrometheusParser.h"
#include "PrometheusText.h"
#include "StatusBoard.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace {

using hostd::PrometheusText;
using hostd::StatusBoard;
using hostd::test::parsePrometheusText;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

TEST(PrometheusText, EscapesLabelValuesAndHelpAsTheFormatRequires) {
    EXPECT_EQ(PrometheusText::escapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    EXPECT_EQ(PrometheusText::escapeHelp("x\\y\nz \"q\""), "x\\\\y\\nz \"q\"");
}

TEST(PrometheusText, FormatsValuesExactly) {
    EXPECT_EQ(PrometheusText::formatValue(3), "3");
    EXPECT_EQ(PrometheusText::formatValue(0.001), "0.001");
    EXPECT_EQ(PrometheusText::formatValue(1e21), "1e+21");
    EXPECT_EQ(PrometheusText::formatValue(INFINITY), "+Inf");
    EXPECT_EQ(PrometheusText::formatValue(-INFINITY), "-Inf");
    EXPECT_EQ(PrometheusText::formatValue(NAN), "NaN");
}

TEST(PrometheusText, WritesHelpTypeAndSamples) {
    PrometheusText out;
    out.family("x_total", "counter", "Things.\nMore");
    out.sample("x_total", {{"a", "1"}, {"b", "q\"uote"}}, 2);
    out.sample("x_total", {}, 0.5);
    EXPECT_EQ(out.text(), "# HELP x_total Things.\\nMore\n# TYPE x_total counter\nx_total{a=\"1\",b=\"q\\\"uote\"} 2\n"
                          "x_total 0.5\n");
    EXPECT_THAT(parsePrometheusText(out.text()).errors, IsEmpty());
}

TEST(PrometheusText, HistogramBucketsAreCumulativeAndEndWithInf) {
    PrometheusText out;
    out.family("d_seconds", "histogram", "Durations.");
    out.histogram("d_seconds", {{"p", "x"}}, {0.1, 1}, {2, 0, 3}, 7.5);
    EXPECT_EQ(out.text(), "# HELP d_seconds Durations.\n# TYPE d_seconds histogram\n"
                          "d_seconds_bucket{p=\"x\",le=\"0.1\"} 2\nd_seconds_bucket{p=\"x\",le=\"1\"} 2\n"
                          "d_seconds_bucket{p=\"x\",le=\"+Inf\"} 5\nd_seconds_sum{p=\"x\"} 7.5\n"
                          "d_seconds_count{p=\"x\"} 5\n");
    EXPECT_THAT(parsePrometheusText(out.text()).errors, IsEmpty());
}

TEST(PrometheusParser, RejectsWhatTheFormatForbids) {
    // The parser the integration tests trust must itself fail on broken text.
    auto errors = [](const std::string& text) { return parsePrometheusText(text).errors; };
    EXPECT_THAT(errors("x 1\n"), Not(IsEmpty()));                                         // no TYPE
    EXPECT_THAT(errors("# HELP x h\n# TYPE x gauge\nx{a=\"\\q\"} 1\n"), Not(IsEmpty()));  // bad escape
    EXPECT_THAT(errors("# HELP x h\n# TYPE x counter\nx 1\n"), Not(IsEmpty()));           // counter not *_total
    EXPECT_THAT(errors("# HELP x h\n# TYPE x gauge\nx 1\nx 2\n"), Not(IsEmpty()));         // duplicate series
    EXPECT_THAT(errors("# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\n"
                       "h_sum 1\nh_count 2\n"),
                Not(IsEmpty()));  // not cumulative
    EXPECT_THAT(errors("# HELP h h\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n"),
                Not(IsEmpty()));  // +Inf differs from _count
    EXPECT_THAT(errors("# HELP a h\n# TYPE a gauge\n# HELP b h\n# TYPE b gauge\nb 1\na 1\n"), Not(IsEmpty()));
    EXPECT_THAT(errors("# HELP x h\n# TYPE x gauge\nx 1"), Not(IsEmpty()));  // no final newline
}

StatusBoard::Snapshot sampleSnapshot() {
    StatusBoard::Snapshot s;
    auto& a = s.plugins["a"];
    a.state = hostd::PluginState::Running;
    auto& start = a.calls["start"];
    start.count = 3;
    start.failures = 1;
    start.seconds = 40.2;
    start.buckets[0] = 1;  // 1 ms or less
    start.buckets[5] = 1;  // (50 ms, 100 ms]; the third took longer than the last bound
    s.plugins["b\"q"].state = hostd::PluginState::Failed;
    s.loadFailures["not_elf"] = 2;
    s.dirEvents["file_ready"] = 4;
    s.reloadsOk = 1;
    s.reloadsFailed = 2;
    return s;
}

TEST(RenderMetrics, IsStrictlyValidAndCarriesTheBoardsNumbers) {
    auto text = hostd::renderMetrics(sampleSnapshot(), hostd::ProcessStats::read());
    auto m = parsePrometheusText(text);
    EXPECT_THAT(m.errors, IsEmpty()) << text;
    EXPECT_EQ(m.value("hostd_plugins", {{"state", "running"}}), 1);
    EXPECT_EQ(m.value("hostd_plugins", {{"state", "failed"}}), 1);
    EXPECT_EQ(m.value("hostd_plugins", {{"state", "stuck"}}), 0);
    EXPECT_EQ(m.value("hostd_plugin_call_duration_seconds_count", {{"plugin", "a"}, {"call", "start"}}), 3);
    EXPECT_EQ(m.value("hostd_plugin_call_duration_seconds_bucket", {{"plugin", "a"}, {"le", "0.001"}}), 1);
    EXPECT_EQ(m.value("hostd_plugin_call_duration_seconds_bucket", {{"plugin", "a"}, {"le", "0.1"}}), 2);
    EXPECT_EQ(m.value("hostd_plugin_call_duration_seconds_bucket", {{"plugin", "a"}, {"le", "30"}}), 2);
    EXPECT_EQ(m.value("hostd_plugin_call_duration_seconds_bucket", {{"plugin", "a"}, {"le", "+Inf"}}), 3);
    EXPECT_EQ(m.value("hostd_plugin_call_failures_total", {{"plugin", "a"}}), 1);
    EXPECT_EQ(m.value("hostd_plugin_load_failures_total", {{"reason", "not_elf"}}), 2);
    EXPECT_EQ(m.value("hostd_plugin_dir_events_total", {{"kind", "file_ready"}}), 4);
    EXPECT_EQ(m.value("hostd_config_reloads_total", {{"result", "failed"}}), 2);
    EXPECT_GT(m.value("process_resident_memory_bytes"), 0);
    EXPECT_GT(m.value("process_open_fds"), 0);
    EXPECT_GT(m.value("process_start_time_seconds"), 1.6e9);
    EXPECT_GE(m.value("hostd_threads", {{"owner", "host"}}), 1);  // this test's main thread
    EXPECT_EQ(m.value("hostd_build_info"), 1);
    EXPECT_THAT(text, HasSubstr("plugin=\"b\\\"q\""));
}

TEST(Health, NamesThePluginsThatDoNotRun) {
    auto h = hostd::checkHealth(sampleSnapshot());
    EXPECT_FALSE(h.ok);
    Poco::JSON::Parser parser;
    auto o = parser.parse(h.json).extract<Poco::JSON::Object::Ptr>();
    auto list = o->getArray("not_running");
    ASSERT_EQ(list->size(), 1u);
    EXPECT_EQ(list->getObject(0)->getValue<std::string>("plugin"), "b\"q");
    EXPECT_EQ(list->getObject(0)->getValue<std::string>("state"), "failed");
    StatusBoard::Snapshot s;
    s.plugins["a"].state = hostd::PluginState::Running;
    s.plugins["off"].state = hostd::PluginState::Disabled;
    EXPECT_TRUE(hostd::checkHealth(s).ok);
    EXPECT_FALSE(hostd::checkReady(s).ok);  // still starting
    s.phase = StatusBoard::Phase::Running;
    EXPECT_TRUE(hostd::checkReady(s).ok);
    s.phase = StatusBoard::Phase::Draining;
    EXPECT_FALSE(hostd::checkReady(s).ok);
    // Configured and enabled, but no file: not running either.
    s.config = hostd::parseConfig({{"main.conf", "[plugin.a]\n[plugin.gone]\n[plugin.off]\nenabled = false\n"}}).config;
    ASSERT_TRUE(s.config);
    auto missing = hostd::checkHealth(s);
    EXPECT_FALSE(missing.ok);
    EXPECT_THAT(missing.json, HasSubstr(R"({"plugin":"gone","state":"missing","reason":"configured in main.conf:2 but no file gone.so"})"));
    EXPECT_THAT(missing.json, Not(HasSubstr("\"off\"")));
}

TEST(JsonWriterTest, WritesValidJsonWhateverTheBytes) {
    hostd::JsonWriter j;
    std::string nasty = std::string("a\"b\\c\n\t\x01") + "\xff" + "\xc3\xa9";  // invalid byte, then é
    j.beginObject().field("s", nasty).field("n", 3).field("d", 0.5).field("inf", INFINITY).field("b", true);
    j.key("list").beginArray().value("x").beginObject().endObject().value(-2LL).endArray().endObject();
    Poco::JSON::Parser parser;
    auto o = parser.parse(j.str()).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(o->getValue<std::string>("s"), "a\"b\\c\n\t\x01\xef\xbf\xbd\xc3\xa9");
    EXPECT_EQ(o->getValue<int>("n"), 3);
    EXPECT_TRUE(o->isNull("inf"));
    EXPECT_EQ(o->getArray("list")->size(), 3u);
}

TEST(LoadFailureReason, MapsTheLoadersMessagesToAFewLabels) {
    using hostd::loadFailureReason;
    EXPECT_EQ(loadFailureReason("not an ELF file"), "not_elf");
    EXPECT_EQ(loadFailureReason("empty file (0 bytes)"), "not_elf");
    EXPECT_EQ(loadFailureReason("refused: group- or world-writable (mode 0666)"), "permissions");
    EXPECT_EQ(loadFailureReason("refused: owned by uid 5, must be owned by root or uid 0"), "owner");
    EXPECT_EQ(loadFailureReason("refused: sha256 ab does not match the pinned sha256 cd"), "sha256_mismatch");
    EXPECT_EQ(loadFailureReason("plugin ABI 2.0 is not supported by this hostd (ABI 1.2): ..."), "abi_version");
    EXPECT_EQ(loadFailureReason("no symbol hostd_plugin_entry (not a hostd plugin, ...)"), "no_entry_symbol");
    EXPECT_EQ(loadFailureReason("dlopen failed: undefined symbol: x"), "dlopen");
    EXPECT_EQ(loadFailureReason("cannot open: No such file or directory"), "io");
    EXPECT_EQ(loadFailureReason("something new"), "other");
}

TEST(StatusBoardTest, AttributedCallsCountCpuAndReleaseTheThread) {
    auto& board = StatusBoard::instance();
    board.pluginState("cpu-test", hostd::PluginState::Starting, "");
    auto job = board.attributed("cpu-test", "start", [&] {
        auto s = board.snapshot();
        EXPECT_EQ(s.threads.at(::gettid()).plugin, "cpu-test");  // attributed while in the call
        EXPECT_EQ(s.threads.at(::gettid()).inCall, "start");
        volatile double x = 0;
        for (int i = 0; i < 2000000; ++i) x = x + std::sqrt(static_cast<double>(i));
        return hostd::CallResult{};
    });
    job();
    board.callCompleted("cpu-test", "start", std::chrono::milliseconds(7), true);
    auto s = board.snapshot();
    EXPECT_EQ(s.threads.count(::gettid()), 0u);
    EXPECT_GT(s.plugins.at("cpu-test").callbackCpuSeconds, 0);
    EXPECT_EQ(s.plugins.at("cpu-test").calls.at("start").count, 1u);
    EXPECT_EQ(s.plugins.at("cpu-test").calls.at("start").buckets[2], 1u);  // 7 ms: the (5 ms, 10 ms] bucket
    board.forget("cpu-test");
    EXPECT_EQ(board.snapshot().plugins.count("cpu-test"), 0u);
}

}  // namespace
