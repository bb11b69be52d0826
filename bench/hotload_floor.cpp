// The floor for bench/hotload_bench: the least a plugin host can do to start a plugin, so that
// hostd's figures can be read as a ratio. Plain, it does no trust checks, no private copy, no
// hashing, no threads, no logging, no state: dlopen the file where it lies and call its start
// on the calling thread, with a services table that only answers config_get (the events key).
//
//   hotload_floor watch DIR EVENTS   raw inotify on DIR; each NAME.so renamed in or written and
//                                    closed is loaded and started at once (and stopped and
//                                    unloaded when removed); runs until killed.
//                                    Prints "floor: ready" once the watch is armed.
//   hotload_floor cold DIR EVENTS    loads and starts every NAME.so in DIR, then exits.
//
// With --required before the mode, the floor also does what issues 4 and 16 require of every
// load, the straightforward way and nothing more: what the dynamic loader maps of the file (the
// headers and every PT_LOAD segment, in whole pages) is copied to the same offsets of a memfd
// the file's size while it is hashed (XXH3-128: the identity known before any of its code runs:
// "same content is a no-op", crash history), the memfd is what is dlopened, and start runs on a
// worker thread woken for the call (the host's loop must not run plugin code). No trust checks,
// no checks of the ELF beyond reading its headers, no logging, no state.
// Its ratio to the plain floor shows how much of the 1.5x budget that work alone uses up.
#include <hostd/plugin.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <elf.h>
#include <string>
#include <string_view>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>
#include <xxhash.h>

namespace {

hostd_type_config_entry gEntry;  // events = EVENTS, the only key the fixtures read
hostd_type_config gConfig{&gEntry, 1};

void noLog(const hostd_type_context*, hostd_type_log_level, const char*, size_t) {}
int notStopping(const hostd_type_context*) { return 0; }

hostd_type_result configGet(const hostd_type_config* config, const char* key, size_t keyLen, hostd_type_str* out) {
    for (size_t i = 0; i < config->count; ++i) {
        const auto& e = config->entries[i];
        if (e.key.len == keyLen && std::memcmp(e.key.ptr, key, keyLen) == 0) {
            *out = e.value;
            return HOSTD_OK;
        }
    }
    return HOSTD_ERR_NOT_FOUND;
}

const hostd_type_services gServices{sizeof(hostd_type_services), 0, noLog, notStopping, configGet, nullptr, nullptr};

/// A plugin stem for NAME.so, or empty for anything else (the bench writes nothing else here).
std::string stem(std::string_view file) {
    if (file.size() <= 3 || !file.ends_with(".so") || file.front() == '.') return {};
    return std::string(file.substr(0, file.size() - 3));
}

/// --required: runs each start on one worker thread, in order, as a host must (DESIGN.md: the
/// loop never runs plugin code). The thread sleeps on a condition variable between calls.
class StartThread {
public:
    void post(std::function<void()> call) {
        {
            std::lock_guard<std::mutex> lock(_mutex);
            _calls.push_back(std::move(call));
        }
        _wake.notify_one();
    }
    void finish() {
        post(nullptr);
        _thread.join();
    }

private:
    void run() {
        for (;;) {
            std::unique_lock<std::mutex> lock(_mutex);
            _wake.wait(lock, [&] { return !_calls.empty(); });
            auto call = std::move(_calls.front());
            _calls.pop_front();
            lock.unlock();
            if (!call) return;
            call();
        }
    }
    std::mutex _mutex;
    std::condition_variable _wake;
    std::deque<std::function<void()>> _calls;
    std::thread _thread{[this] { run(); }};
};

StartThread* gStarts = nullptr;  // set with --required
/// Copies [offset, offset + length) of src to the same offset of mem while hashing it.
bool copyRange(int src, int mem, XXH3_state_t* hash, std::uint64_t offset, std::uint64_t length) {
    unsigned char buf[1 << 16];
    (void)::fallocate(mem, 0, static_cast<off_t>(offset), static_cast<off_t>(length));  // pages in one call
    for (std::uint64_t done = 0; done < length;) {
        ssize_t n = ::pread(src, buf, std::min<std::uint64_t>(sizeof buf, length - done), static_cast<off_t>(offset + done));
        if (n <= 0) return false;
        XXH3_128bits_update(hash, buf, static_cast<size_t>(n));
        if (::pwrite(mem, buf, static_cast<size_t>(n), static_cast<off_t>(offset + done)) != n) return false;
        done += static_cast<std::uint64_t>(n);
    }
    return true;
}

/// --required: what DIR/FILE maps, copied into a memfd while hashed; returns the memfd, or -1.
int privateCopy(const std::string& dir, const std::string& file) {
    int src = ::open((dir + "/" + file).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int mem = ::memfd_create(file.c_str(), MFD_CLOEXEC);
    XXH3_state_t* hash = XXH3_createState();
    struct stat st {};
    Elf64_Ehdr eh{};
    bool ok = src >= 0 && mem >= 0 && hash != nullptr && ::fstat(src, &st) == 0 &&
              ::ftruncate(mem, st.st_size) == 0 && ::pread(src, &eh, sizeof eh, 0) == sizeof eh && eh.e_phnum < 64;
    std::vector<Elf64_Phdr> ph(ok ? eh.e_phnum : 0);
    ok = ok && XXH3_128bits_reset(hash) == XXH_OK &&
         ::pread(src, ph.data(), ph.size() * sizeof(Elf64_Phdr), static_cast<off_t>(eh.e_phoff)) ==
             static_cast<ssize_t>(ph.size() * sizeof(Elf64_Phdr)) &&
         copyRange(src, mem, hash, 0, eh.e_phoff + ph.size() * sizeof(Elf64_Phdr));
    const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    for (const auto& h : ph) {
        if (!ok || h.p_type != PT_LOAD || h.p_filesz == 0) continue;
        std::uint64_t begin = h.p_offset / page * page;
        std::uint64_t end = std::min<std::uint64_t>((h.p_offset + h.p_filesz + page - 1) / page * page, st.st_size);
        ok = copyRange(src, mem, hash, begin, end - begin);
    }
    if (ok) (void)XXH3_128bits_digest(hash);
    XXH3_freeState(hash);
    if (src >= 0) ::close(src);
    if (!ok && mem >= 0) ::close(mem);
    return ok ? mem : -1;
}

/// A plugin the floor runs: until its file is removed (watch), or the process exits.
struct Loaded {
    void* handle;
    const hostd_type_descriptor* descriptor;
    hostd_type_context* context;
    int memfd;  // --required: the private copy; -1 otherwise
};
std::map<std::string, Loaded> gLoaded;  // by file name

/// On the start thread with --required (after the start it follows), else here.
void onStartThread(std::function<void()> call) {
    if (gStarts != nullptr)
        gStarts->post(std::move(call));
    else
        call();
}

/// Loads DIR/FILE and calls its start.
void loadAndStart(const std::string& dir, const std::string& file) {
    std::string name = stem(file);
    if (name.empty()) return;
    int memfd = gStarts != nullptr ? privateCopy(dir, file) : -1;
    std::string path = gStarts != nullptr ? "/proc/self/fd/" + std::to_string(memfd) : dir + "/" + file;
    void* handle = gStarts != nullptr && memfd < 0 ? nullptr : ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    auto entry = handle ? reinterpret_cast<hostd_type_entry_fn>(::dlsym(handle, HOSTD_ENTRY_SYMBOL)) : nullptr;
    const hostd_type_descriptor* d = entry ? entry() : nullptr;
    if (d == nullptr) {
        std::fprintf(stderr, "floor: cannot load %s: %s\n", file.c_str(), handle ? "no descriptor" : ::dlerror());
        return;
    }
    auto* ctx = new hostd_type_context{sizeof(hostd_type_context), 0, {nullptr, 0}, &gServices, nullptr};
    auto* keep = new std::string(std::move(name));
    ctx->instance_name = {keep->c_str(), keep->size()};
    gLoaded[file] = {handle, d, ctx, memfd};
    onStartThread([d, ctx, file] {
        char buf[256] = "";
        hostd_type_message message{buf, sizeof buf};
        if (d->start(d->instance, ctx, &gConfig, &message) != HOSTD_OK)
            std::fprintf(stderr, "floor: %s: start failed\n", file.c_str());
    });
}

/// Stops and unloads FILE once it is removed: not measured, it only keeps a long run of large
/// installs from keeping every image mapped.
void stopAndUnload(const std::string& file) {
    auto it = gLoaded.find(file);
    if (it == gLoaded.end()) return;
    Loaded p = it->second;
    gLoaded.erase(it);
    onStartThread([p] {
        char buf[256] = "";
        hostd_type_message message{buf, sizeof buf};
        p.descriptor->stop(p.descriptor->instance, p.context, INT64_MAX, &message);
        ::dlclose(p.handle);
        if (p.memfd >= 0) ::close(p.memfd);
    });
}

int watch(const std::string& dir) {
    int fd = ::inotify_init1(IN_CLOEXEC);
    if (fd < 0 || ::inotify_add_watch(fd, dir.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM) < 0) {
        std::perror("floor: inotify");
        return 1;
    }
    std::printf("floor: ready\n");
    std::fflush(stdout);
    alignas(inotify_event) char buf[64 * (sizeof(inotify_event) + NAME_MAX + 1)];
    for (;;) {  // blocking reads: the floor sleeps in the kernel exactly like an idle host
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) continue;
        for (char* p = buf; p < buf + n;) {
            auto* ev = reinterpret_cast<inotify_event*>(p);
            p += sizeof(inotify_event) + ev->len;
            if (ev->len == 0) continue;
            if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
                stopAndUnload(ev->name);
            else
                loadAndStart(dir, ev->name);
        }
    }
}

int cold(const std::string& dir) {
    std::vector<std::string> files;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        std::perror("floor: opendir");
        return 1;
    }
    while (dirent* e = ::readdir(d))
        if (!stem(e->d_name).empty()) files.emplace_back(e->d_name);
    ::closedir(d);
    std::sort(files.begin(), files.end());  // hostd starts in name order too
    for (const auto& f : files) loadAndStart(dir, f);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    bool required = argc > 1 && std::strcmp(argv[1], "--required") == 0;
    if (required) {
        --argc;
        ++argv;
    }
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s [--required] watch|cold DIR EVENTS\n", argv[0]);
        return 2;
    }
    std::unique_ptr<StartThread> starts;
    if (required) {
        starts = std::make_unique<StartThread>();
        gStarts = starts.get();
    }
    static std::string events = argv[3];
    gEntry = {{"events", 6}, {events.c_str(), events.size()}};
    std::string mode = argv[1], dir = argv[2];
    if (mode == "watch") return watch(dir);
    if (mode == "cold") {
        int rc = cold(dir);
        if (starts) starts->finish();  // every start has run before the floor exits
        return rc;
    }
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
}
