// The C++ wrapper's exception handling at the C boundary: what reaches the host's message
// buffer, and with which result code.
#include <hostd/poco.hpp>

#include <gtest/gtest.h>

#include <Poco/Exception.h>

#include <stdexcept>

namespace hostd::test {
namespace {

struct Outcome {
    hostd_type_result rc;
    std::string message;
};

template <class F>
Outcome guarded(F&& f) {
    char buf[256] = {0};
    hostd_type_message message{buf, sizeof buf};
    hostd_type_result rc = hostd::detail::guard(&message, std::forward<F>(f));
    return {rc, buf};
}

TEST(Wrapper, APocoExceptionAloneSaysOnlyItsClassName) {
    // Why <hostd/poco.hpp> exists: what() has no details.
    Outcome o = guarded([] { throw Poco::IOException("disk full"); });
    EXPECT_EQ(o.rc, HOSTD_ERR_EXCEPTION);
    EXPECT_EQ(o.message, "I/O error");
}

TEST(Wrapper, WithPocoErrorsCarriesDisplayTextAndTheChosenCode) {
    Outcome o = guarded([] {
        hostd::withPocoErrors("writing state", [] { throw Poco::IOException("disk full"); }, HOSTD_ERR_UNAVAILABLE);
    });
    EXPECT_EQ(o.rc, HOSTD_ERR_UNAVAILABLE);
    EXPECT_EQ(o.message, "writing state: I/O error: disk full");
}

TEST(Wrapper, WithPocoErrorsReturnsTheValueAndLetsOtherExceptionsThrough) {
    EXPECT_EQ(hostd::withPocoErrors("adding", [] { return 2 + 2; }), 4);
    Outcome o = guarded([] { hostd::withPocoErrors("parsing", [] { throw std::runtime_error("plain"); }); });
    EXPECT_EQ(o.rc, HOSTD_ERR_EXCEPTION);
    EXPECT_EQ(o.message, "plain");
}

}  // namespace
}  // namespace hostd::test
