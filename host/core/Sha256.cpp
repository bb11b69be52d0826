#include "Sha256.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace hostd {

namespace {

const EVP_MD* sha256Implementation() {
    // Fetched once and kept for the process (freed by nothing: it lives as long as libcrypto).
    static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (md == nullptr) throw std::runtime_error("libcrypto has no SHA-256");
    return md;
}

}  // namespace

Sha256::Sha256() : _ctx(EVP_MD_CTX_new()) {
    if (_ctx == nullptr || EVP_DigestInit_ex2(_ctx, sha256Implementation(), nullptr) != 1) {
        EVP_MD_CTX_free(_ctx);
        throw std::runtime_error("cannot initialise SHA-256");
    }
}

Sha256::~Sha256() { EVP_MD_CTX_free(_ctx); }

void Sha256::update(const void* data, std::size_t len) {
    if (EVP_DigestUpdate(_ctx, data, len) != 1) throw std::runtime_error("SHA-256 update failed");
}

std::array<unsigned char, 32> Sha256::finish() {
    std::array<unsigned char, 32> out{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(_ctx, out.data(), &len) != 1 || len != out.size()) throw std::runtime_error("SHA-256 final failed");
    return out;
}

std::string Sha256::finishHex() {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string text;
    text.reserve(64);
    for (unsigned char b : finish()) {
        text.push_back(kDigits[b >> 4]);
        text.push_back(kDigits[b & 0xf]);
    }
    return text;
}

std::string Sha256::hex(const void* data, std::size_t len) {
    Sha256 digest;
    digest.update(data, len);
    return digest.finishHex();
}

}  // namespace hostd
