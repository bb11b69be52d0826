#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

struct XXH3_state_s;

namespace hostd {

/// XXH3-128 (libxxhash): the identity of a plugin's loadable content, at memory speed. Not a
/// cryptographic hash and not meant as one: who may write plugin files is already trusted
/// (TrustedPath); what must be told apart is one build from another, and a pin (sha256 of the
/// whole file, Sha256.h) is there for who wants a cryptographic check.
class ContentHash {
public:
    ContentHash();
        /// Throws std::bad_alloc.
    ~ContentHash();
    ContentHash(const ContentHash&) = delete;
    ContentHash& operator=(const ContentHash&) = delete;

    void update(const void* data, std::size_t len) noexcept;
    void update(std::uint64_t value) noexcept;
        /// Eight bytes, little-endian: lengths and offsets that frame what follows.

    std::string finishHex();
        /// 32 lowercase hex digits.

    static bool isHex(const std::string& text) noexcept;
        /// text looks like what finishHex returns.

private:
    XXH3_state_s* _state;
};

}  // namespace hostd
