#pragma once

#include <array>
#include <cstddef>
#include <string>

struct evp_md_ctx_st;

namespace hostd {

/// SHA-256 with OpenSSL's libcrypto. The digest implementation is fetched once per process:
/// OpenSSL 3 otherwise looks it up in its provider store at every init, which with a fresh
/// context per file made hashing a small plugin several times slower than the hash itself.
class Sha256 {
public:
    Sha256();
        /// Throws std::runtime_error if libcrypto has no SHA-256 (it always does).
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(const void* data, std::size_t len);

    std::array<unsigned char, 32> finish();
        /// The digest of everything updated so far; the object may not be updated afterwards.

    std::string finishHex();
        /// finish() as 64 lowercase hex digits.

    static std::string hex(const void* data, std::size_t len);
        /// One-shot: the hex digest of data.

private:
    evp_md_ctx_st* _ctx;
};

}  // namespace hostd
