// A plugin built against the frozen ABI 1.0 header (tests/fixtures/old_abi) in today's hostd:
// it loads, gets its configuration and every 1.0 service, reloads and stops. If this fails,
// every 1.0 plugin in the field fails with it.
#include "Process.h"
#include "SdkTestSupport.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>

namespace hostd::test {
namespace {

bool logHas(const std::string& logPath, const std::string& needle) {
    return waitUntil([&] { return readFile(logPath).find(needle) != std::string::npos; }, 15s);
}

TEST(OldPlugin, BuiltAgainstAbi1_0RunsInTodaysHostd) {
    TempDir dir;
    std::filesystem::create_directory(dir.file("plugins"));
    std::filesystem::copy_file(fixture("old_v1_0"), dir.file("plugins/old.so"));
    auto config = [&](const std::string& greeting) {
        // Written under another name and renamed, as editors do, so hostd never reads half a file.
        dir.write("hostd.conf.tmp", "[hostd]\nplugin_dir = " + dir.file("plugins") + "\ncontrol_socket = " +
                                        dir.file("control.sock") + "\n\n[plugin.old]\ngreeting = " +
                                        greeting + "\n");
        std::filesystem::rename(dir.file("hostd.conf.tmp"), dir.file("hostd.conf"));
    };
    config("from 1.0");
    std::string logPath = dir.file("hostd.log");
    HostdProcess hostd({"--config=" + dir.file("hostd.conf")}, logPath);

    ASSERT_TRUE(logHas(logPath, "hostd: ready running=1")) << readFile(logPath);
    EXPECT_TRUE(logHas(logPath, "old_v1_0 start: instance=old greeting=from 1.0 stopping=0")) << readFile(logPath);

    config("changed");
    hostd.signal(SIGHUP);
    EXPECT_TRUE(logHas(logPath, "old_v1_0 reload: instance=old greeting=changed stopping=0")) << readFile(logPath);

    hostd.signal(SIGTERM);
    EXPECT_EQ(hostd.waitExit(15s), 0) << readFile(logPath);
    EXPECT_TRUE(logHas(logPath, "old_v1_0 stop: instance=old greeting=(none) stopping=1")) << readFile(logPath);
    if (HasFailure()) dir.keep();
}

}  // namespace
}  // namespace hostd::test
