// The log line formats: text, JSON (checked by a real JSON parser and an independent UTF-8
// decoder), journal; escaping of untrusted plugin text.
#include "LogFormat.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <iconv.h>
#include <regex>
#include <string>
#include <vector>

namespace {

using hostd::Level;
using hostd::LogField;
using hostd::LogFormat;
using hostd::LogRecord;

// 2021-02-03T04:05:06.000007Z
constexpr std::int64_t kTime = 1612325106LL * 1000000 + 7;

std::string format(LogFormat f, const LogRecord& r, bool withTime = true) {
    std::string out;
    hostd::formatLogLine(out, f, r, withTime);
    return out;
}

/// True if text is valid UTF-8, by glibc's decoder (not the one under test).
bool validUtf8(const std::string& text) {
    iconv_t cd = iconv_open("UTF-8", "UTF-8");
    if (cd == reinterpret_cast<iconv_t>(-1)) return false;
    std::string in = text;
    std::string out(text.size() * 4 + 16, '\0');
    char* inPtr = in.data();
    char* outPtr = out.data();
    std::size_t inLeft = in.size(), outLeft = out.size();
    std::size_t r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft);
    iconv_close(cd);
    return r != static_cast<std::size_t>(-1) && inLeft == 0;
}

Poco::JSON::Object::Ptr parseJsonLine(const std::string& line) {
    EXPECT_FALSE(line.empty());
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one record must be one line";
    EXPECT_TRUE(validUtf8(line)) << line;
    Poco::JSON::Parser parser;
    return parser.parse(line).extract<Poco::JSON::Object::Ptr>();
}

TEST(LogFormat, TextHostLineHasTimeLevelSubjectMessageFieldsAndSource) {
    std::vector<LogField> fields{{"path", "/usr/lib/hostd/a.so"}, {"duration_ms", "1.500"}};
    LogRecord r{kTime, Level::Warning, "", "plugin refused", fields, "Supervisor.cpp", 42};
    EXPECT_EQ(format(LogFormat::Text, r), "2021-02-03T04:05:06.000007Z warning hostd: plugin refused "
                                          "path=/usr/lib/hostd/a.so duration_ms=1.500 src=Supervisor.cpp:42\n");
}

TEST(LogFormat, TextPluginLineNamesThePluginAndQuotesValuesThatNeedIt) {
    std::vector<LogField> fields{{"error", "no \"such\" file"}, {"empty", ""}, {"eq", "a=b"}, {"back", "c:\\d"}};
    LogRecord r{kTime, Level::Error, "echo", "start failed", fields, nullptr, 0};
    EXPECT_EQ(format(LogFormat::Text, r, false),
              "error plugin=echo: start failed error=\"no \\\"such\\\" file\" empty=\"\" eq=\"a=b\" back=\"c:\\\\d\"\n");
}

TEST(LogFormat, TextEscapesControlCharactersAndInvalidUtf8SoOneCallIsOneLine) {
    LogRecord r{kTime, Level::Info, "evil", "a\nb\r\x1b[31mc\xff\xc3\xa9", {}, nullptr, 0};
    EXPECT_EQ(format(LogFormat::Text, r, false), "info plugin=evil: a\\nb\\x0d\\x1b[31mc\\xff\xc3\xa9\n");
}

TEST(LogFormat, JournalLinesStartWithTheSyslogPriorityAndLeaveTheTimeToJournald) {
    LogRecord r{kTime, Level::Error, "", "cannot start", {}, "X.cpp", 7};
    EXPECT_EQ(format(LogFormat::Journal, r), "<3>error hostd: cannot start src=X.cpp:7\n");
    r.level = Level::Debug;
    EXPECT_EQ(format(LogFormat::Journal, r).substr(0, 9), "<7>debug ");
}

TEST(LogFormat, JsonHostLineHasEveryMember) {
    std::vector<LogField> fields{{"path", "/x"}, {"duration_ms", "2.000"}};
    LogRecord r{kTime, Level::Notice, "", "ready", fields, "Supervisor.cpp", 111};
    std::string line = format(LogFormat::Json, r);
    auto o = parseJsonLine(line);
    EXPECT_EQ(o->getValue<std::string>("time"), "2021-02-03T04:05:06.000007Z");
    EXPECT_EQ(o->getValue<std::string>("level"), "notice");
    EXPECT_EQ(o->getValue<std::string>("message"), "ready");
    EXPECT_EQ(o->getValue<std::string>("source"), "Supervisor.cpp:111");
    EXPECT_EQ(o->getValue<std::string>("path"), "/x");
    EXPECT_EQ(o->getValue<std::string>("duration_ms"), "2.000");
    EXPECT_FALSE(o->has("plugin"));
    EXPECT_EQ(o->size(), 6u);
}

TEST(LogFormat, JsonPluginLineCarriesThePluginAndNoSource) {
    std::vector<LogField> fields{{"from", "plugin"}};
    LogRecord r{kTime, Level::Info, "echo", "hello", fields, nullptr, 0};
    auto o = parseJsonLine(format(LogFormat::Json, r));
    EXPECT_EQ(o->getValue<std::string>("plugin"), "echo");
    EXPECT_EQ(o->getValue<std::string>("from"), "plugin");
    EXPECT_FALSE(o->has("source"));
}

TEST(LogFormat, JsonFieldNamedLikeAMemberIsPrefixedNotDuplicated) {
    std::vector<LogField> fields{{"time", "later"}, {"message", "other"}};
    LogRecord r{kTime, Level::Info, "", "m", fields, nullptr, 0};
    std::string line = format(LogFormat::Json, r);
    auto o = parseJsonLine(line);
    EXPECT_EQ(o->getValue<std::string>("message"), "m");
    EXPECT_EQ(o->getValue<std::string>("_time"), "later");
    EXPECT_EQ(o->getValue<std::string>("_message"), "other");
    EXPECT_EQ(line.find("\"time\"", line.find("\"time\"") + 1), std::string::npos);
}

TEST(LogFormat, JsonRoundTripsControlCharactersQuotesAndUnicode) {
    std::string message = "tab\there \"quoted\" back\\slash nl\n cr\r bell\x07 del\x7f nul";
    message += '\0';
    message += " \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";  // é € 😀
    LogRecord r{kTime, Level::Info, "p", message, {}, nullptr, 0};
    auto o = parseJsonLine(format(LogFormat::Json, r));
    EXPECT_EQ(o->getValue<std::string>("message"), message);
}

TEST(LogFormat, JsonReplacesEveryInvalidUtf8SequenceWithTheReplacementCharacter) {
    const std::vector<std::string> invalid = {
        "\xff",              // never valid
        "\xc0\x80",          // overlong NUL
        "\xe0\x80\x80",      // overlong
        "\xed\xa0\x80",      // UTF-16 surrogate
        "\xf4\x90\x80\x80",  // above U+10FFFF
        "\xc3",              // truncated at the end
        "\xe2\x82",          // truncated
        "\x80",              // lone continuation byte
    };
    for (const auto& bad : invalid) {
        std::string message = "a" + bad + "b";  // the record only views it
        LogRecord r{kTime, Level::Info, "p", message, {}, nullptr, 0};
        std::string line = format(LogFormat::Json, r);
        auto o = parseJsonLine(line);
        std::string got = o->getValue<std::string>("message");
        EXPECT_TRUE(got.starts_with("a\xef\xbf\xbd") && got.ends_with("b")) << ::testing::PrintToString(bad) << " -> " << line;
        EXPECT_EQ(got.find(bad), std::string::npos);
    }
}

TEST(LogFormat, JsonOfEveryByteValueIsValid) {
    std::string all;
    for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
    std::vector<LogField> fields{{"raw", all}};
    LogRecord r{kTime, Level::Info, all, all, fields, nullptr, 0};
    auto o = parseJsonLine(format(LogFormat::Json, r));
    EXPECT_EQ(o->getValue<std::string>("raw").substr(0, 128), all.substr(0, 128));
}

TEST(LogFormat, TimestampIsRfc3339UtcWithMicroseconds) {
    std::string now;
    hostd::appendTimestamp(now, hostd::nowEpochMicros());
    EXPECT_TRUE(std::regex_match(now, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)"))) << now;
    std::string epoch;
    hostd::appendTimestamp(epoch, 0);
    EXPECT_EQ(epoch, "1970-01-01T00:00:00.000000Z");
}

TEST(LogFormat, FormatNamesParse) {
    EXPECT_EQ(hostd::parseLogFormat("json"), LogFormat::Json);
    EXPECT_EQ(hostd::parseLogFormat("text"), LogFormat::Text);
    EXPECT_EQ(hostd::parseLogFormat("journal"), LogFormat::Journal);
    EXPECT_EQ(hostd::parseLogFormat("auto"), std::nullopt);
    EXPECT_EQ(hostd::parseLogFormat("JSON"), std::nullopt);
    for (auto f : {LogFormat::Text, LogFormat::Json, LogFormat::Journal})
        EXPECT_EQ(hostd::parseLogFormat(hostd::logFormatName(f)), f);
}

}  // namespace
