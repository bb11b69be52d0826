// hostctl's protocol (ControlProtocol.h) on untrusted input, and the control_* keys.
#include "Config.h"
#include "ControlProtocol.h"

#include <Poco/JSON/Parser.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using hostd::ControlCommands;
using hostd::ControlError;
using hostd::ControlRequest;
using hostd::parseControlRequest;
using ::testing::HasSubstr;

std::string refusal(std::string_view line) {
    try {
        parseControlRequest(line);
    } catch (const ControlError& e) {
        return e.what();
    }
    return "accepted";
}

TEST(ControlProtocol, ParsesAFlatRequest) {
    ControlRequest r = parseControlRequest(R"({"v":1,"cmd":"log-level","level":"debug","plugin":"echo"})");
    EXPECT_EQ(r.cmd, "log-level");
    EXPECT_EQ(r.level, "debug");
    EXPECT_EQ(r.plugin, "echo");
    EXPECT_EQ(parseControlRequest(R"({"cmd":"list","v":1})").plugin, "");
}

TEST(ControlProtocol, RefusesAnythingElseWithAReason) {
    EXPECT_THAT(refusal("garbage"), HasSubstr("malformed request"));
    EXPECT_THAT(refusal(""), HasSubstr("malformed request"));
    EXPECT_THAT(refusal("[1,2]"), HasSubstr("not a JSON object"));
    EXPECT_THAT(refusal("\"text\""), HasSubstr("not a JSON object"));
    EXPECT_EQ(refusal(R"({"cmd":"list"})"), "missing protocol version \"v\"");
    EXPECT_EQ(refusal(R"({"v":"1","cmd":"list"})"), "missing protocol version \"v\"");
    EXPECT_EQ(refusal(R"({"v":2,"cmd":"list"})"), "unsupported protocol version 2 (this hostd speaks 1)");
    EXPECT_EQ(refusal(R"({"v":1})"), "missing \"cmd\"");
    EXPECT_EQ(refusal(R"({"v":1,"cmd":7})"), "\"cmd\" must be a string");
    EXPECT_EQ(refusal(R"({"v":1,"cmd":"stop","plugin":["a"]})"), "\"plugin\" must be a string");
    EXPECT_EQ(refusal(R"({"v":1,"cmd":"list","extra":1})"), "unknown request field \"extra\"");
    EXPECT_THAT(refusal(R"({"v":1,"cmd":"list"} trailing)"), HasSubstr("malformed request"));
    EXPECT_EQ(refusal(std::string(hostd::kControlMaxLine + 1, ' ')), "request too long");
}

TEST(ControlProtocol, DeepNestingIsRefusedWithoutRecursingIntoIt) {
    std::string deep = R"({"v":1,"cmd":"list","plugin":)" + std::string(30000, '[') + std::string(30000, ']') + "}";
    EXPECT_THAT(refusal(deep), HasSubstr("malformed request"));
}

TEST(ControlCommands, DispatchesByNameAndAnswersOneLineEachWay) {
    ControlCommands commands;
    commands.add("echo", [](const ControlRequest& r) {
        Poco::JSON::Object::Ptr reply = new Poco::JSON::Object;
        reply->set("plugin", r.plugin + "\nsecond line");
        reply->set("uid", static_cast<int>(r.peer.uid));
        return reply;
    });
    commands.add("refuse", [](const ControlRequest&) -> Poco::JSON::Object::Ptr { throw ControlError("no, NAME"); });
    std::string line = commands.dispatch(R"({"v":1,"cmd":"echo","plugin":"x"})", {1, 42, 43});
    ASSERT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "a newline in a value is escaped";
    auto reply = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
    EXPECT_TRUE(reply->getValue<bool>("ok"));
    EXPECT_EQ(reply->getValue<int>("v"), 1);
    EXPECT_EQ(reply->getValue<std::string>("plugin"), "x\nsecond line");
    EXPECT_EQ(reply->getValue<int>("uid"), 42);
    EXPECT_EQ(commands.dispatch(R"({"v":1,"cmd":"refuse"})", {}), "{\"error\":\"no, NAME\",\"ok\":false,\"v\":1}\n");
    EXPECT_EQ(commands.dispatch(R"({"v":1,"cmd":"top"})", {}),
              "{\"error\":\"unknown command 'top' (known: echo, refuse)\",\"ok\":false,\"v\":1}\n");
}

TEST(ControlConfig, SocketAndGroupAreValidatedWithFileAndLine) {
    auto load = hostd::parseConfig({{"main.conf", "[hostd]\ncontrol_socket = relative.sock\ncontrol_group = -bad\n"}});
    ASSERT_FALSE(load.ok());
    ASSERT_EQ(load.issues.size(), 2u);
    EXPECT_EQ(load.issues[0].str(), "main.conf:2: control_socket = 'relative.sock' must be an absolute path (or empty for no socket)");
    EXPECT_EQ(load.issues[1].str(), "main.conf:3: control_group = '-bad' is not a control_group name or numeric id");
    auto tooLong = hostd::parseConfig({{"main.conf", "[hostd]\ncontrol_socket = /" + std::string(120, 'x') + "\n"}});
    ASSERT_FALSE(tooLong.ok());
    EXPECT_THAT(tooLong.issues[0].str(), HasSubstr("is longer than 107 bytes (the unix socket limit)"));
}

TEST(ControlConfig, DefaultsAndDescribe) {
    auto defaults = hostd::parseConfig({{"main.conf", "[hostd]\n"}});
    ASSERT_TRUE(defaults.ok());
    EXPECT_EQ(defaults.config->host.controlSocket, "/run/hostd/control.sock");
    EXPECT_EQ(defaults.config->host.controlGroup, "");
    auto set = hostd::parseConfig({{"main.conf", "[hostd]\ncontrol_socket =\ncontrol_group = adm\n"}});
    ASSERT_TRUE(set.ok());
    std::map<std::string, std::string> described;
    for (const auto& [key, value] : hostd::describe(set.config->host)) described[key] = value;
    EXPECT_EQ(described.at("control_socket"), "");
    EXPECT_EQ(described.at("control_group"), "adm");
}

}  // namespace

namespace {

TEST(ControlProtocol, NumbersTooLargeForAVersionAreRefusedNotWrapped) {
    EXPECT_EQ(refusal(R"({"v":18446744073709551617,"cmd":"list"})"), "number out of range in the request");
    EXPECT_EQ(refusal(R"({"v":1000000000,"cmd":"list"})"), "number out of range in the request");
    EXPECT_EQ(refusal(R"({"v":1,"cmd":"list","plugin":"18446744073709551617"})"), "accepted");  // in a string: a name
    EXPECT_EQ(refusal(R"({"v":1,"cmd":"list","plugin":"a\"18446744073709551617"})"), "accepted");
}

TEST(ControlProtocol, RepliesAreValidUtf8WhateverWasEchoed) {
    ControlCommands commands;
    std::string euros;
    for (int i = 0; i < 30; ++i) euros += "\xE2\x82\xAC";  // 3 bytes each: byte 64 falls inside one
    std::string reply = commands.dispatch(R"({"v":1,"cmd":")" + euros + R"("})", {});
    Poco::JSON::Object::Ptr parsed;
    ASSERT_NO_THROW(parsed = Poco::JSON::Parser().parse(reply).extract<Poco::JSON::Object::Ptr>()) << reply;
    EXPECT_THAT(parsed->getValue<std::string>("error"), HasSubstr("unknown command '" + euros.substr(0, 63) + "'"));
    // A plugin's message with bytes that are not UTF-8 (a Latin-1 é, a cut sequence).
    commands.add("list", [](const ControlRequest&) {
        Poco::JSON::Object::Ptr r = new Poco::JSON::Object;
        r->set("last_error", std::string("caf\xE9 \xE2\x82"));
        return r;
    });
    reply = commands.dispatch(R"({"v":1,"cmd":"list"})", {});
    ASSERT_NO_THROW(parsed = Poco::JSON::Parser().parse(reply).extract<Poco::JSON::Object::Ptr>()) << reply;
    EXPECT_EQ(parsed->getValue<std::string>("last_error"), "caf\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(Utf8, InvalidSequencesAreReplacedAndPrefixesEndAtACharacter) {
    using hostd::utf8Prefix;
    using hostd::validUtf8;
    EXPECT_EQ(validUtf8("plain"), "plain");
    EXPECT_EQ(validUtf8("\xC3\xA9\xF0\x9F\x98\x80"), "\xC3\xA9\xF0\x9F\x98\x80");
    EXPECT_EQ(validUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");          // overlong '/'
    EXPECT_EQ(validUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
    EXPECT_EQ(validUtf8("\xF4\x90\x80\x80").substr(0, 3), "\xEF\xBF\xBD");  // above U+10FFFF
    EXPECT_EQ(utf8Prefix("\xE2\x82\xAC\xE2\x82\xAC", 4), "\xE2\x82\xAC");
    EXPECT_EQ(utf8Prefix("abc", 3), "abc");
    EXPECT_EQ(utf8Prefix("abcd", 3), "abc");
}

}  // namespace
