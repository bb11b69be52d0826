#pragma once

#include <array>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

/// SHA-256 of a stream of chunks on a thread of its own, so that a caller copying a large file
/// can write each chunk out while it is hashed: the copy then takes the longer of the two, not
/// their sum (an 8 MiB plugin: 9 ms before, 5 ms). The chunks are its own ring of buffers.
class BackgroundSha256 {
public:
    static constexpr std::size_t kChunkSize = 256 << 10;

    BackgroundSha256();
        /// Starts the hashing thread. Throws std::system_error if it cannot.
    ~BackgroundSha256();
        /// Stops and joins, hashed or not.
    BackgroundSha256(const BackgroundSha256&) = delete;
    BackgroundSha256& operator=(const BackgroundSha256&) = delete;

    unsigned char* chunk();
        /// The next buffer of kChunkSize bytes to fill, once the hash of what it held is done.
        /// The previous chunk is the caller's no longer.
    void hash(std::size_t len);
        /// Queues the first len bytes of the current chunk; the caller may read (not change) them
        /// until its next chunk().
    std::string finishHex();
        /// Waits for every queued chunk; the digest as 64 lowercase hex digits.

private:
    void run();

    static constexpr std::size_t kChunks = 4;
    Sha256 _digest;                          // the hashing thread's
    std::vector<unsigned char> _buffers;     // kChunks * kChunkSize
    std::array<std::size_t, kChunks> _lengths{};
    std::size_t _filled = 0;                 // chunks queued so far; guarded by _mutex
    std::size_t _hashed = 0;                 // chunks hashed so far; guarded by _mutex
    bool _stop = false;                      // guarded by _mutex
    std::mutex _mutex;
    std::condition_variable _changed;
    std::thread _thread;                     // last: starts once the rest exists
};

}  // namespace hostd
