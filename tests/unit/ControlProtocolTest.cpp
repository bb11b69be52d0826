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
