// The runner protocol's messages (runner/RunnerProtocol.h, Confine.h): what one end writes the
// other reads back; a short or forged message is bad, never read past its end; the seccomp
// filters hostd compiles for runners.
#include "Confine.h"
#include "RunnerProtocol.h"
#include "SeccompFilter.h"

#include <gtest/gtest.h>

#include <linux/filter.h>

namespace hostd::runner {
namespace {

TEST(RunnerProtocol, WhatIsWrittenIsReadBack) {
    Writer w(Type::CallDone, 7, 3);
    w.str("message").u64(42).str("");
    Reader in(w.bytes().data(), w.bytes().size());
    EXPECT_EQ(in.type(), Type::CallDone);
    EXPECT_EQ(in.header().id, 7u);
    EXPECT_EQ(in.header().code, 3);
    EXPECT_EQ(in.str(), "message");
    EXPECT_EQ(in.u64(), 42u);
    EXPECT_EQ(in.str(), "");
    EXPECT_FALSE(in.bad());
}

TEST(RunnerProtocol, AShortOrForgedMessageIsBadAndReadsNothingBeyondItsEnd) {
    Writer w(Type::Log);
    w.str("text");
    std::string bytes = w.bytes();
    Reader cut(bytes.data(), bytes.size() - 2);  // the string's last bytes missing
    EXPECT_EQ(cut.str(), "");
    EXPECT_TRUE(cut.bad());
    Reader header(bytes.data(), 3);  // not even a header
    EXPECT_TRUE(header.bad());
    std::string forged = Writer(Type::Log).u64(~std::uint64_t{0}).bytes();  // a length past everything
    Reader lying(forged.data(), forged.size());
    EXPECT_EQ(lying.str(), "");
    EXPECT_TRUE(lying.bad());
    EXPECT_EQ(lying.u64(), 0u);
}

TEST(RunnerProtocol, AConfinementIsReadBackAsWritten) {
    Confinement c;
    c.uid = 65534;
    c.gid = 65534;
    c.setGroups = true;
    c.groups = {65534, 100};
    c.hasCapabilities = true;
    c.capabilities = {10};
    c.limits = {{7, 256, 512}};
    c.filter = std::string(16, 'x');
    Writer w(Type::Confine);
    c.write(w);
    Reader in(w.bytes().data(), w.bytes().size());
    Confinement back = Confinement::read(in);
    EXPECT_FALSE(in.bad());
    EXPECT_EQ(back.uid, 65534u);
    EXPECT_EQ(back.groups, c.groups);
    EXPECT_TRUE(back.hasCapabilities);
    EXPECT_EQ(back.capabilities, c.capabilities);
    ASSERT_EQ(back.limits.size(), 1u);
    EXPECT_EQ(back.limits[0].hard, 512u);
    EXPECT_EQ(back.filter, c.filter);
    Confinement keep;  // nothing set: ids and groups unchanged
    Writer k(Type::Confine);
    keep.write(k);
    Reader kin(k.bytes().data(), k.bytes().size());
    Confinement keptBack = Confinement::read(kin);
    EXPECT_EQ(keptBack.uid, kKeepId);
    EXPECT_FALSE(keptBack.setGroups);
}

TEST(SeccompFilters, OffIsNoFilterAndEachModeIsWholeInstructionsAndCached) {
    std::vector<std::string> unknown;
    EXPECT_EQ(seccompFilter("off", {}, unknown), "");
    std::string def = seccompFilter("default", {}, unknown), strict = seccompFilter("strict", {}, unknown);
    EXPECT_GT(def.size(), 0u);
    EXPECT_EQ(def.size() % sizeof(sock_filter), 0u);
    EXPECT_EQ(strict.size() % sizeof(sock_filter), 0u);
    EXPECT_NE(def, strict);
    EXPECT_NE(seccompFilter("default", {"init_module"}, unknown), def);  // allowed besides: another program
    EXPECT_EQ(seccompFilter("default", {}, unknown), def);
    EXPECT_TRUE(unknown.empty());
    seccompFilter("strict", {"no_such_call"}, unknown);
    EXPECT_EQ(unknown, std::vector<std::string>{"no_such_call"});
}

}  // namespace
}  // namespace hostd::runner
