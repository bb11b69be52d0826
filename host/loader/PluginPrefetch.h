#pragma once

#include "PluginImage.h"

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace hostd {

/// Reads plugin files (PluginFile::read: trust checks, private copy, content hash) on a thread of its
/// own, ahead of the Supervisor, when a scan or a burst of directory events brings many files at
/// once. Reading one file then overlaps the dlopen and bookkeeping of the one before it on the
/// main thread, which is what a cold start of hundreds of plugins is made of. No plugin code runs
/// here: reading a file never executes it.
///
/// A file read ahead is only a file read a little earlier: a change after its read brings an
/// inotify event of its own (the watch exists before the scan), exactly as when it is read in
/// its turn.
class PluginPrefetch {
public:
    struct Request {
        std::string fileName;  ///< NAME.so, relative to the directory.
        TrustPolicy policy;
    };

    static constexpr std::size_t kMinFiles = 4;
        /// Fewer files are read in their turn: a thread costs more than it would save.
    static constexpr std::size_t kWindow = 32;
        /// Files read but not yet taken, at most: what a long run of refused files can hold.

    PluginPrefetch(int dirFd, std::vector<Request> requests);
        /// Starts reading requests in order at once, relative to a duplicate of dirFd (its own:
        /// a batch abandoned by a hung load, LoadWatch.h, never has it closed under it). Throws
        /// std::system_error if no thread or fd can be had (the caller reads in its turn).
    ~PluginPrefetch();
        /// Stops reading and joins; files read but not taken are closed.
    PluginPrefetch(const PluginPrefetch&) = delete;
    PluginPrefetch& operator=(const PluginPrefetch&) = delete;

    std::optional<PluginFile> take(const std::string& fileName);
        /// The file's content, waiting until it is read; rethrows what PluginFile::read threw
        /// (LoadError, FileBusy). Nothing if fileName was not requested or was taken already.

private:
    struct Slot {
        std::optional<PluginFile> file;
        std::exception_ptr error;
        bool done = false;
        bool taken = false;
    };

    void readAll(int dirFd);

    UniqueFd _dir;
    std::vector<Request> _requests;
    std::vector<Slot> _slots;                       // guarded by _mutex
    std::map<std::string, std::size_t> _index;     // fileName -> slot; immutable after construction
    std::size_t _untaken = 0;                       // done and not taken; guarded by _mutex
    std::optional<std::size_t> _asked;              // the latest slot take() asked for; guarded by _mutex
    std::size_t _swept = 0;                         // slots below it are taken or dropped; guarded by _mutex
    bool _stop = false;                             // guarded by _mutex
    std::mutex _mutex;
    std::condition_variable _changed;
    std::thread _thread;                            // last: starts after everything above exists
};

}  // namespace hostd
