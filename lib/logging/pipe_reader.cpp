#include "logging/pipe_reader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <array>
#include <cerrno>

namespace sup::logging {
namespace {

constexpr std::size_t kChunk = 128 * 1024;        // supervisord's read size
constexpr std::size_t kBurst = 1024 * 1024;       // then let other handlers run
// A child that fills the default 64 KiB pipe in one go gets a bigger pipe:
// fewer wake-ups and syscalls per byte for both sides. Only busy pipes grow,
// so a thousand quiet programs do not pin kernel memory.
constexpr int kBusyPipeSize = 1024 * 1024;

// One buffer for all readers: the daemon is single-threaded and callbacks
// get a view that is only valid during the call.
char* shared_buffer() {
  thread_local std::array<char, kChunk> buffer;
  return buffer.data();
}

}  // namespace

// One allocation per reader (issue 7: two per program): the handlers hold
// a weak_ptr to the Impl, and a reader busy in a callback holds a
// shared_ptr to itself, so that the callback may destroy the PipeReader.
struct PipeReader::Impl : std::enable_shared_from_this<PipeReader::Impl> {
  Impl(boost::asio::io_context& io, DataCallback data, EofCallback eof)
      : io(io), sd(io), on_data(std::move(data)), on_eof(std::move(eof)) {}

  void start(int fd) {
    int fl = ::fcntl(fd, F_GETFL);
    if (fl >= 0) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    boost::system::error_code ec;
    sd.assign(fd, ec);
    if (ec) {
      // Cannot watch it: report EOF from the loop, as for any dead pipe.
      ::close(fd);
      is_open = false;
      boost::asio::post(io, [w = weak_from_this()] {
        auto self = w.lock();
        if (!self) return;
        if (EofCallback cb = std::move(self->on_eof)) cb();
      });
      return;
    }
    arm();
  }

  // Only after read() said EAGAIN: asio registers descriptors edge-triggered,
  // so waiting with unread data left could wait forever.
  void arm() {
    sd.async_wait(boost::asio::posix::descriptor_base::wait_read,
                  [w = weak_from_this()](const boost::system::error_code& ec) {
                    auto self = w.lock();
                    if (!self || !self->is_open || ec == boost::asio::error::operation_aborted) return;
                    // Other errors (e.g. a descriptor epoll cannot watch): try reading anyway.
                    self->on_ready(static_cast<bool>(ec));
                  });
  }

  void on_ready(bool wait_failed) {
    // Keeps *this (and on_data) alive while a callback destroys the PipeReader.
    std::shared_ptr<Impl> self = shared_from_this();
    std::size_t burst = 0;
    char* buf = shared_buffer();
    while (true) {
      ssize_t n = ::read(sd.native_handle(), buf, kChunk);
      if (n > 0) {
        bytes += static_cast<std::uint64_t>(n);
        if (!grown && static_cast<std::size_t>(n) >= pipe_size) grow_pipe();
        on_data(std::string_view(buf, static_cast<std::size_t>(n)));
        if (!is_open) return;  // the callback closed or destroyed the reader
        burst += static_cast<std::size_t>(n);
        if (burst >= kBurst) {
          boost::asio::post(io, [w = weak_from_this()] {
            auto again = w.lock();
            if (again && again->is_open) again->on_ready(false);
          });
          return;
        }
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !wait_failed) {
        arm();
        return;
      }
      // n == 0: every writer closed the pipe and it is empty. Read errors
      // (EIO...) end the stream the same way.
      finish();
      return;
    }
  }

  void grow_pipe() {
    grown = true;  // one attempt: the size is capped by /proc/sys/fs/pipe-max-size
    int size = ::fcntl(sd.native_handle(), F_SETPIPE_SZ, kBusyPipeSize);
    if (size > 0) pipe_size = static_cast<std::size_t>(size);
  }

  void finish() {
    shutdown();
    if (EofCallback cb = std::move(on_eof)) cb();  // may destroy the PipeReader
  }

  void shutdown() {
    if (!is_open && !sd.is_open()) return;
    is_open = false;
    boost::system::error_code ignored;
    sd.cancel(ignored);
    sd.close(ignored);
  }

  boost::asio::io_context& io;
  // Bound to the io_context's own executor type rather than the type-erased
  // default: 32 bytes less per pipe, two pipes per program (issue 7).
  boost::asio::posix::basic_stream_descriptor<boost::asio::io_context::executor_type> sd;
  DataCallback on_data;
  EofCallback on_eof;
  bool is_open = true;
  bool grown = false;
  std::uint64_t bytes = 0;
  std::size_t pipe_size = 64 * 1024;  // Linux's default capacity
};

PipeReader::PipeReader(boost::asio::io_context& io, int fd, DataCallback on_data, EofCallback on_eof)
    : impl_(std::make_shared<Impl>(io, std::move(on_data), std::move(on_eof))) {
  impl_->start(fd);
}

PipeReader::PipeReader(boost::asio::io_context& io, UniqueFd fd, DataCallback on_data, EofCallback on_eof)
    : PipeReader(io, fd.release(), std::move(on_data), std::move(on_eof)) {}

// A callback running now (the Impl holds itself) finds the reader closed;
// the callbacks themselves go with the last reference.
PipeReader::~PipeReader() {
  impl_->shutdown();
  impl_->on_eof = nullptr;
}

void PipeReader::close() { impl_->shutdown(); }

bool PipeReader::open() const { return impl_->is_open; }

std::uint64_t PipeReader::bytes_read() const { return impl_->bytes; }

}  // namespace sup::logging
