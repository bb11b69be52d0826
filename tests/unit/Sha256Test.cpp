#include "Sha256.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace {

using hostd::BackgroundSha256;
using hostd::Sha256;

TEST(Sha256, MatchesTheStandardTestVectors) {
    EXPECT_EQ(Sha256::hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(Sha256::hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, BackgroundHashOfManyChunksEqualsTheHashOfTheWhole) {
    // More chunks than its ring holds, the last one short: every wrap-around of the ring.
    std::string whole;
    for (std::size_t i = 0; whole.size() < 9 * BackgroundSha256::kChunkSize + 123; ++i)
        whole += std::to_string(i * 2654435761u) + ",";
    BackgroundSha256 digest;
    for (std::size_t off = 0; off < whole.size();) {
        std::size_t n = std::min(BackgroundSha256::kChunkSize, whole.size() - off);
        unsigned char* chunk = digest.chunk();
        std::memcpy(chunk, whole.data() + off, n);
        digest.hash(n);
        off += n;
    }
    EXPECT_EQ(digest.finishHex(), Sha256::hex(whole.data(), whole.size()));
}

TEST(Sha256, BackgroundHashEndsCleanlyWithChunksStillQueued) {
    auto digest = std::make_unique<BackgroundSha256>();
    for (int i = 0; i < 3; ++i) {
        std::memset(digest->chunk(), i, BackgroundSha256::kChunkSize);
        digest->hash(BackgroundSha256::kChunkSize);
    }
    digest.reset();  // joins without finishHex; must neither hang nor touch freed buffers (ASan)
    SUCCEED();
}

}  // namespace
