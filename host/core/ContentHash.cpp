#include "ContentHash.h"

#include <xxhash.h>

#include <new>

namespace hostd {

ContentHash::ContentHash() : _state(XXH3_createState()) {
    if (_state == nullptr) throw std::bad_alloc();
    XXH3_128bits_reset(_state);
}

ContentHash::~ContentHash() { XXH3_freeState(_state); }

void ContentHash::update(const void* data, std::size_t len) noexcept { XXH3_128bits_update(_state, data, len); }

void ContentHash::update(std::uint64_t value) noexcept {
    unsigned char bytes[8];
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(value >> (8 * i));
    update(bytes, sizeof bytes);
}

std::string ContentHash::finishHex() {
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(_state));
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(32);
    for (unsigned char b : canonical.digest) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 15]);
    }
    return out;
}

bool ContentHash::isHex(const std::string& text) noexcept {
    if (text.size() != 32) return false;
    for (char c : text)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

}  // namespace hostd
