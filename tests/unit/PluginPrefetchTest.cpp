#include "PluginPrefetch.h"

#include "ContentHash.h"
#include "Sha256.h"
#include "TempDir.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <functional>
#include <set>
#include <sys/mman.h>
#include <sys/stat.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using hostd::FileBusy;
using hostd::LoadError;
using hostd::PluginFile;
using hostd::PluginPrefetch;

/// The header of a 64-bit shared object for this machine and one loadable segment spanning it
/// (or its first loadable bytes), then bytes naming the file: all PluginFile::read looks at
/// before dlopen.
std::string elfImage(const std::string& tag, std::uint64_t loadable = 0) {
    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_DYN;
#if defined(__x86_64__)
    eh.e_machine = EM_X86_64;
#elif defined(__aarch64__)
    eh.e_machine = EM_AARCH64;
#endif
    eh.e_phoff = sizeof eh;
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = 1;
    Elf64_Phdr load{};
    load.p_type = PT_LOAD;
    load.p_filesz = loadable != 0 ? loadable : sizeof eh + sizeof load + tag.size();
    return std::string(reinterpret_cast<const char*>(&eh), sizeof eh) +
           std::string(reinterpret_cast<const char*>(&load), sizeof load) + tag;
}

class Prefetch : public ::testing::Test {
protected:
    void SetUp() override {
        _dirFd = ::open(_dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_GE(_dirFd, 0);
    }
    void TearDown() override { ::close(_dirFd); }

    /// n plugin files p0.so ... and their requests, in order.
    std::vector<PluginPrefetch::Request> plugins(int n) {
        std::vector<PluginPrefetch::Request> out;
        for (int i = 0; i < n; ++i) {
            std::string name = "p" + std::to_string(i) + ".so";
            _dir.write(name, elfImage(name));
            out.push_back({name, {}});
        }
        return out;
    }

    std::string contentOf(const PluginFile& f) {
        std::string text(f.size, '\0');
        EXPECT_EQ(::pread(f.memfd.get(), text.data(), text.size(), 0), static_cast<ssize_t>(text.size()));
        return text;
    }

    hostd::test::TempDir _dir{"hostd-prefetch"};
    int _dirFd = -1;
};

TEST_F(Prefetch, GivesEachFileItsOwnPrivateCopyAndHashInRequestOrder) {
    auto requests = plugins(10);
    PluginPrefetch prefetch(_dirFd, requests);
    std::set<std::string> contents;
    for (const auto& r : requests) {
        auto file = prefetch.take(r.fileName);
        ASSERT_TRUE(file.has_value()) << r.fileName;
        std::string expected = elfImage(r.fileName);
        EXPECT_EQ(contentOf(*file), expected);
        EXPECT_TRUE(hostd::ContentHash::isHex(file->content)) << file->content;
        EXPECT_TRUE(file->sha256.empty()) << "hashed whole without a pin";
        EXPECT_TRUE(contents.insert(file->content).second) << "two files, one identity";
        EXPECT_EQ(file->name, r.fileName.substr(0, r.fileName.size() - 3));
    }
}

TEST_F(Prefetch, ALargeLoadableFileIsCopiedWhole) {
    // Many reads of the copy buffer, the last one short.
    std::string image = elfImage("big", (3u << 20) + 4097);
    while (image.size() < (3u << 20) + 4097) image += std::to_string(image.size() * 7919u);
    image.resize((3u << 20) + 4097);
    _dir.write("big.so", image);
    PluginPrefetch prefetch(_dirFd, {{"big.so", {}}});
    auto file = prefetch.take("big.so");
    ASSERT_TRUE(file.has_value());
    EXPECT_EQ(file->size, image.size());
    EXPECT_EQ(contentOf(*file), image);
    EXPECT_EQ(file->copied, image.size());
}

/// An image whose loadable part is its first page and then `debug` bytes no loader reads, as a
/// plugin built with debug info; with byte `at` of it set to `value` if at is not npos.
std::string withDebugInfo(std::size_t debug, std::size_t at = std::string::npos, char value = 0) {
    std::string image = elfImage("lean", 4096);
    image.resize(4096, 'L');
    for (std::size_t i = 0; i < debug; ++i) image.push_back(static_cast<char>('a' + i % 26));
    if (at != std::string::npos) image[at] = value;
    return image;
}

TEST_F(Prefetch, OnlyWhatIsMappedIsCopiedTheRestIsAHoleThatCostsNothing) {
    std::string image = withDebugInfo(4u << 20);
    _dir.write("lean.so", image);
    PluginPrefetch prefetch(_dirFd, {{"lean.so", {}}});
    auto file = prefetch.take("lean.so");
    ASSERT_TRUE(file.has_value());
    EXPECT_EQ(file->size, image.size());
    EXPECT_EQ(file->loadable, 4096u);
    EXPECT_EQ(file->copied, 4096u);
    struct stat st {};
    ASSERT_EQ(::fstat(file->memfd.get(), &st), 0);
    EXPECT_EQ(static_cast<std::uint64_t>(st.st_size), image.size());  // offsets as in the file
    EXPECT_LE(static_cast<std::uint64_t>(st.st_blocks) * 512, 2 * 4096u) << "the debug info was copied";
    std::string copy = contentOf(*file);
    EXPECT_EQ(copy.substr(0, 4096), image.substr(0, 4096));
    EXPECT_EQ(copy.find_first_not_of('\0', 4096), std::string::npos) << "the hole reads as zeros";
}

TEST_F(Prefetch, ThePrivateCopyIsSealedAgainstEveryWriteEvenThroughAReopenedDescriptor) {
    _dir.write("sealed.so", withDebugInfo(4096));
    PluginPrefetch prefetch(_dirFd, {{"sealed.so", {}}});
    auto file = prefetch.take("sealed.so");
    ASSERT_TRUE(file.has_value());
    EXPECT_EQ(::fcntl(file->memfd.get(), F_GET_SEALS), F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
    // What an isolated plugin could do with its runner's fd 4: reopen it writable and write.
    hostd::UniqueFd reopened(::open(("/proc/self/fd/" + std::to_string(file->memfd.get())).c_str(), O_RDWR | O_CLOEXEC));
    ASSERT_TRUE(reopened);
    EXPECT_EQ(::pwrite(reopened.get(), "X", 1, 100), -1);
    EXPECT_EQ(errno, EPERM);
    EXPECT_EQ(::ftruncate(reopened.get(), 0), -1);
    EXPECT_EQ(::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, reopened.get(), 0), MAP_FAILED);
    EXPECT_EQ(contentOf(*file).substr(0, 4096), withDebugInfo(4096).substr(0, 4096));
}

TEST_F(Prefetch, TheIdentityChangesWithAMappedByteNotWithDebugInfo) {
    auto identity = [&](const std::string& image) {
        _dir.write("id.so", image);
        PluginPrefetch prefetch(_dirFd, {{"id.so", {}}});
        return prefetch.take("id.so")->content;
    };
    std::string plain = identity(withDebugInfo(1u << 20));
    EXPECT_EQ(identity(withDebugInfo(1u << 20, 4096 + 500000, 'X')), plain);  // debug info only
    EXPECT_EQ(identity(withDebugInfo(2u << 20)), plain);                      // more of it
    EXPECT_NE(identity(withDebugInfo(1u << 20, 3000, 'X')), plain);           // a mapped byte
}

TEST_F(Prefetch, APinIsTheWholeFilesSha256DebugInfoIncluded) {
    std::string image = withDebugInfo(1u << 20);
    _dir.write("pinned.so", image);
    std::string whole = hostd::Sha256::hex(image.data(), image.size());
    PluginPrefetch::Request pinned{"pinned.so", {}};
    pinned.policy.pinnedSha256 = whole;
    PluginPrefetch ok(_dirFd, {pinned});
    auto file = ok.take("pinned.so");
    ASSERT_TRUE(file.has_value());
    EXPECT_EQ(file->sha256, whole);
    EXPECT_EQ(file->copied, 4096u);  // pinned or not, what is kept is what is mapped

    _dir.write("pinned.so", withDebugInfo(1u << 20, 4096 + 777, 'X'));  // same mapped bytes, other file
    PluginPrefetch refused(_dirFd, {pinned});
    try {
        refused.take("pinned.so");
        FAIL() << "a file other than the pinned one was accepted";
    } catch (const LoadError& e) {
        EXPECT_NE(std::string(e.what()).find("does not match the pinned sha256 " + whole), std::string::npos) << e.what();
    }
}

TEST_F(Prefetch, RethrowsWhatReadingTheFileThrewToTheOneWhoTakesIt) {
    auto requests = plugins(3);
    _dir.write("p1.so", "not a plugin at all, but long enough to be more than an ELF header's worth of bytes");
    requests[2].policy.pinnedSha256 = std::string(64, '0');
    PluginPrefetch prefetch(_dirFd, requests);
    EXPECT_TRUE(prefetch.take("p0.so").has_value());
    try {
        prefetch.take("p1.so");
        FAIL() << "no error for a file that is not ELF";
    } catch (const FileBusy&) {
        FAIL() << "not busy, refused";
    } catch (const LoadError& e) {
        EXPECT_STREQ(e.what(), "not an ELF file");
    }
    EXPECT_THROW(prefetch.take("p2.so"), LoadError);  // the pin does not match
}

/// elfImage with its header or program header changed by edit, as file NAME.
std::string editedImage(const std::function<void(Elf64_Ehdr&, Elf64_Phdr&)>& edit) {
    std::string image = elfImage("tag");
    Elf64_Ehdr eh;
    Elf64_Phdr ph;
    std::memcpy(&eh, image.data(), sizeof eh);
    std::memcpy(&ph, image.data() + sizeof eh, sizeof ph);
    edit(eh, ph);
    std::memcpy(image.data(), &eh, sizeof eh);
    std::memcpy(image.data() + sizeof eh, &ph, sizeof ph);
    return image;
}

TEST_F(Prefetch, AnElfFileWhoseHeadersReachPastItsEndIsRefusedAsTruncated) {
    // The offsets come from the file: each is checked against its size, overflow included.
    struct Case {
        const char* name;
        std::function<void(Elf64_Ehdr&, Elf64_Phdr&)> edit;
        const char* error;
    };
    const std::vector<Case> cases{
        {"segment", [](Elf64_Ehdr&, Elf64_Phdr& ph) { ph.p_filesz += 1; }, "truncated ELF file (123 bytes, its headers need 124)"},
        {"phtable", [](Elf64_Ehdr& eh, Elf64_Phdr&) { eh.e_phoff = 100; }, "truncated ELF file (123 bytes, its headers need 156)"},
        {"shtable", [](Elf64_Ehdr& eh, Elf64_Phdr&) { eh.e_shoff = 64; eh.e_shnum = 2; eh.e_shentsize = 64; },
         "truncated ELF file (123 bytes, its headers need 192)"},
        {"wraps", [](Elf64_Ehdr&, Elf64_Phdr& ph) { ph.p_offset = UINT64_MAX - 8; ph.p_filesz = 16; },
         "truncated ELF file (123 bytes, its headers need 18446744073709551615)"},
        {"nophdr", [](Elf64_Ehdr& eh, Elf64_Phdr&) { eh.e_phnum = 0; }, "malformed ELF program headers (0 of 56 bytes)"},
        {"phsize", [](Elf64_Ehdr& eh, Elf64_Phdr&) { eh.e_phentsize = 32; }, "malformed ELF program headers (1 of 32 bytes)"},
    };
    std::vector<PluginPrefetch::Request> requests;
    for (const auto& c : cases) {
        _dir.write(std::string(c.name) + ".so", editedImage(c.edit));
        requests.push_back({std::string(c.name) + ".so", {}});
    }
    PluginPrefetch prefetch(_dirFd, requests);
    for (const auto& c : cases) {
        try {
            prefetch.take(std::string(c.name) + ".so");
            ADD_FAILURE() << c.name << ": accepted";
        } catch (const LoadError& e) {
            EXPECT_STREQ(e.what(), c.error) << c.name;
        }
    }
}

TEST_F(Prefetch, AFileNotRequestedOrTakenTwiceIsNotThere) {
    auto requests = plugins(2);
    PluginPrefetch prefetch(_dirFd, requests);
    EXPECT_FALSE(prefetch.take("other.so").has_value());
    EXPECT_TRUE(prefetch.take("p1.so").has_value());
    EXPECT_FALSE(prefetch.take("p1.so").has_value());
    EXPECT_FALSE(prefetch.take("p0.so").has_value()) << "passed over by the take of p1: dropped";
}

TEST_F(Prefetch, PassingOverMoreFilesThanTheWindowHoldsNeverBlocks) {
    // The Supervisor skips the files of disabled plugins: the reader must not wait for takes of
    // those while the one the Supervisor wants lies beyond its window.
    auto requests = plugins(static_cast<int>(3 * PluginPrefetch::kWindow));
    PluginPrefetch prefetch(_dirFd, requests);
    for (std::size_t i = PluginPrefetch::kWindow + 5; i < requests.size(); i += PluginPrefetch::kWindow + 3)
        EXPECT_TRUE(prefetch.take(requests[i].fileName).has_value()) << requests[i].fileName;
    EXPECT_TRUE(prefetch.take(requests.back().fileName).has_value());
}

TEST_F(Prefetch, EndsWithFilesStillUntakenAndDescriptorsClosed) {
    auto count = [] {
        int n = 0;
        for (int fd = 0; fd < 4096; ++fd) n += ::fcntl(fd, F_GETFD) != -1 ? 1 : 0;
        return n;
    };
    int before = count();
    {
        auto requests = plugins(50);
        PluginPrefetch prefetch(_dirFd, requests);
        EXPECT_TRUE(prefetch.take("p3.so").has_value());
    }  // destroyed while reading ahead, with read files untaken
    EXPECT_EQ(count(), before);
}

}  // namespace
