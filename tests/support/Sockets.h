#pragma once

namespace hostd::test {

int connectLoopback(int port);
    /// A TCP connection to 127.0.0.1:port (blocking, close-on-exec), or -1.

}  // namespace hostd::test
