#pragma once

#include <unistd.h>

#include <utility>

namespace hostd {

/// Owns a file descriptor; closes it on destruction. Move-only.
class UniqueFd {
public:
    UniqueFd() noexcept = default;
    explicit UniqueFd(int fd) noexcept : _fd(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : _fd(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) reset(other.release());
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const noexcept { return _fd; }
    explicit operator bool() const noexcept { return _fd >= 0; }

    int release() noexcept { return std::exchange(_fd, -1); }
        /// Gives up ownership and returns the descriptor.

    void reset(int fd = -1) noexcept {
        int old = std::exchange(_fd, fd);
        if (old >= 0) ::close(old);
    }

private:
    int _fd = -1;
};

}  // namespace hostd
