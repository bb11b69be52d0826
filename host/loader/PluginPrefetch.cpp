#include "PluginPrefetch.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <system_error>

namespace hostd {

PluginPrefetch::PluginPrefetch(int dirFd, std::vector<Request> requests)
    : _dir(::fcntl(dirFd, F_DUPFD_CLOEXEC, 0)), _requests(std::move(requests)), _slots(_requests.size()) {
    if (!_dir) throw std::system_error(errno, std::generic_category(), "dup of the plugin directory");
    for (std::size_t i = 0; i < _requests.size(); ++i) _index.emplace(_requests[i].fileName, i);
    _thread = std::thread([this] { readAll(_dir.get()); });
}

PluginPrefetch::~PluginPrefetch() {
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _stop = true;
    }
    _changed.notify_all();
    _thread.join();
}

void PluginPrefetch::readAll(int dirFd) {
    for (std::size_t i = 0; i < _requests.size(); ++i) {
        {
            // Past the window only for the file the Supervisor is waiting for (or one after it).
            std::unique_lock<std::mutex> lock(_mutex);
            _changed.wait(lock, [&] { return _stop || _untaken < kWindow || (_asked && *_asked >= i); });
            if (_stop) return;
            if (_asked && *_asked > i) {  // passed over already: will not be asked for
                _slots[i].done = _slots[i].taken = true;
                continue;
            }
        }
        Slot result;
        try {
            result.file = PluginFile::read(dirFd, _requests[i].fileName, _requests[i].policy);
        } catch (...) {
            result.error = std::current_exception();
        }
        result.done = true;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            if (_asked && *_asked > i) {  // passed over while it was being read
                _slots[i].done = _slots[i].taken = true;
                continue;
            }
            _slots[i] = std::move(result);
            ++_untaken;
        }
        _changed.notify_all();
    }
}

std::optional<PluginFile> PluginPrefetch::take(const std::string& fileName) {
    auto it = _index.find(fileName);
    if (it == _index.end()) return std::nullopt;
    std::unique_lock<std::mutex> lock(_mutex);
    Slot& slot = _slots[it->second];
    if (slot.taken) return std::nullopt;
    _asked = std::max(_asked.value_or(0), it->second);
    // Files are taken in request order; one passed over (its plugin is disabled, say) will not be
    // asked for again: dropped, so that it no longer holds the window shut.
    // One still being read is dropped by the reader when it is done.
    for (; _swept < it->second; ++_swept) {
        Slot& passed = _slots[_swept];
        if (!passed.done || passed.taken) continue;
        passed = Slot{.file = std::nullopt, .error = nullptr, .done = true, .taken = true};
        --_untaken;
    }
    _changed.notify_all();
    _changed.wait(lock, [&] { return slot.done; });
    slot.taken = true;
    --_untaken;
    Slot result = std::move(slot);
    lock.unlock();
    _changed.notify_all();
    if (result.error) std::rethrow_exception(result.error);
    return std::move(result.file);
}

}  // namespace hostd
