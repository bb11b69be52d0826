#include "Duration.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

namespace {

using hostd::Millis;
using hostd::formatDuration;
using hostd::parseBool;
using hostd::parseDuration;
using namespace std::chrono_literals;

// ---- parseDuration: accepted forms -------------------------------------------------------

TEST(Duration, ParsesMilliseconds) { EXPECT_EQ(parseDuration("250ms"), std::optional<Millis>(250ms)); }

TEST(Duration, ParsesSeconds) { EXPECT_EQ(parseDuration("10s"), std::optional<Millis>(10'000ms)); }

TEST(Duration, ParsesMinutes) { EXPECT_EQ(parseDuration("2m"), std::optional<Millis>(120'000ms)); }

TEST(Duration, ParsesABareNumberAsSeconds) { EXPECT_EQ(parseDuration("5"), std::optional<Millis>(5'000ms)); }

TEST(Duration, ParsesZeroWithAndWithoutUnit) {
    EXPECT_EQ(parseDuration("0"), std::optional<Millis>(0ms));
    EXPECT_EQ(parseDuration("0ms"), std::optional<Millis>(0ms));
    EXPECT_EQ(parseDuration("0s"), std::optional<Millis>(0ms));
    EXPECT_EQ(parseDuration("0m"), std::optional<Millis>(0ms));
}

TEST(Duration, AcceptsValuesUpToOneHundredYears) {
    // The documented bound: 100 * 365 days, in every unit.
    EXPECT_EQ(parseDuration("3153600000000ms"), std::optional<Millis>(3'153'600'000'000ms));
    EXPECT_EQ(parseDuration("3153600000s"), std::optional<Millis>(3'153'600'000'000ms));
    EXPECT_EQ(parseDuration("3153600000"), std::optional<Millis>(3'153'600'000'000ms));
    EXPECT_EQ(parseDuration("52560000m"), std::optional<Millis>(3'153'600'000'000ms));
}

TEST(Duration, RejectsValuesJustAboveOneHundredYears) {
    EXPECT_EQ(parseDuration("3153600000001ms"), std::nullopt);
    EXPECT_EQ(parseDuration("3153600001s"), std::nullopt);
    EXPECT_EQ(parseDuration("52560001m"), std::nullopt);
}

// ---- parseDuration: rejected forms -------------------------------------------------------

class DurationRejects : public ::testing::TestWithParam<std::string> {};

TEST_P(DurationRejects, MalformedText) {
    const std::string& text = GetParam();
    EXPECT_EQ(parseDuration(text), std::nullopt) << "text: '" << text << "'";
}

INSTANTIATE_TEST_SUITE_P(Duration, DurationRejects,
                         ::testing::Values("",                     // empty
                                           "-1",                   // negative
                                           "-5s",                  // negative with unit
                                           "+5s",                  // explicit sign
                                           "1.5s",                 // fractional
                                           "10h",                  // unknown unit
                                           "10d",                  // unknown unit
                                           "s",                    // unit without number
                                           "ms",                   // unit without number
                                           "m",                    // unit without number
                                           " 5s",                  // leading space
                                           "5s ",                  // trailing space
                                           "5 s",                  // space before unit
                                           "5sec",                 // spelled-out unit
                                           "5ss",                  // doubled unit
                                           "abc",                  // not a number
                                           "0x10",                 // hex
                                           "99999999999999999m",   // fits long long, overflows as ms
                                           "99999999999999999999",  // does not fit long long
                                           "9223372036854775807ms"));  // LLONG_MAX ms: beyond the bound

// ---- formatDuration ----------------------------------------------------------------------

TEST(Duration, FormatsWholeMinutesInMinutes) {
    EXPECT_EQ(formatDuration(120'000ms), "2m");
    EXPECT_EQ(formatDuration(60'000ms), "1m");
    EXPECT_EQ(formatDuration(3'600'000ms), "60m");
}

TEST(Duration, FormatsWholeSecondsThatAreNotWholeMinutesInSeconds) {
    EXPECT_EQ(formatDuration(10'000ms), "10s");
    EXPECT_EQ(formatDuration(90'000ms), "90s");
    EXPECT_EQ(formatDuration(1'000ms), "1s");
}

TEST(Duration, FormatsEverythingElseInMilliseconds) {
    EXPECT_EQ(formatDuration(250ms), "250ms");
    EXPECT_EQ(formatDuration(1'500ms), "1500ms");
    EXPECT_EQ(formatDuration(1ms), "1ms");
}

TEST(Duration, FormatsZeroAsZeroMilliseconds) { EXPECT_EQ(formatDuration(0ms), "0ms"); }

TEST(Duration, FormattedTextParsesBackToTheSameDuration) {
    for (Millis d : {0ms, 1ms, 250ms, 999ms, 1'000ms, 1'001ms, 59'000ms, 60'000ms, 61'000ms, 90'000ms,
                     3'600'000ms, 3'153'600'000'000ms}) {
        auto back = parseDuration(formatDuration(d));
        ASSERT_TRUE(back.has_value()) << formatDuration(d);
        EXPECT_EQ(*back, d) << formatDuration(d);
    }
}

// ---- parseBool ---------------------------------------------------------------------------

TEST(ParseBool, AcceptsTheFourTrueSpellings) {
    for (const char* text : {"true", "yes", "on", "1"}) EXPECT_EQ(parseBool(text), std::optional<bool>(true)) << text;
}

TEST(ParseBool, AcceptsTheFourFalseSpellings) {
    for (const char* text : {"false", "no", "off", "0"})
        EXPECT_EQ(parseBool(text), std::optional<bool>(false)) << text;
}

TEST(ParseBool, RejectsAnythingElse) {
    for (const char* text : {"", "2", "maybe", "tru", "y", "n", "enabled", " true", "false ", "01"})
        EXPECT_EQ(parseBool(text), std::nullopt) << "'" << text << "'";
}

}  // namespace
