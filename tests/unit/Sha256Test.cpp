#include "Sha256.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace {

using hostd::Sha256;

TEST(Sha256, MatchesTheStandardTestVectors) {
    EXPECT_EQ(Sha256::hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(Sha256::hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, UpdatesInPiecesEqualTheWhole) {
    std::string whole;
    for (int i = 0; whole.size() < 200000; ++i) whole += std::to_string(i) + ",";
    Sha256 digest;
    for (std::size_t off = 0; off < whole.size(); off += 4099) digest.update(whole.data() + off, std::min<std::size_t>(4099, whole.size() - off));
    EXPECT_EQ(digest.finishHex(), Sha256::hex(whole.data(), whole.size()));
}

}  // namespace
