// PipeReader: reads a child's stdout or stderr pipe on the event loop and
// hands every byte to a callback, then reports EOF once.
//
// EOF means every writer closed the pipe: the child and any grandchildren
// holding it. Bytes still buffered when the child exits are delivered before
// EOF, so do not close() a reader just because the process was reaped; wait
// for on_eof. Reads never block (O_NONBLOCK); after a burst of 1 MiB the
// reader yields to other handlers and continues on the next loop turn.
//
// The string_view passed to on_data points into a buffer shared by all
// readers of the thread: valid only during the call. Callbacks run only from
// io_context handlers, never inside the constructor; a callback may close()
// or destroy its reader. Destroy readers before their io_context.
// Event-loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "util/unique_fd.hpp"

namespace boost::asio {
class io_context;
}

namespace sup::logging {

class PipeReader {
 public:
  using DataCallback = std::function<void(std::string_view)>;
  using EofCallback = std::function<void()>;

  // Takes ownership of fd (sets O_NONBLOCK and FD_CLOEXEC) and starts reading.
  PipeReader(boost::asio::io_context& io, int fd, DataCallback on_data, EofCallback on_eof);
  PipeReader(boost::asio::io_context& io, UniqueFd fd, DataCallback on_data, EofCallback on_eof);
  ~PipeReader();
  PipeReader(const PipeReader&) = delete;
  PipeReader& operator=(const PipeReader&) = delete;

  // Stops reading and closes the fd; no callback runs afterwards. Idempotent.
  void close();
  // True until EOF, a read error (reported as EOF) or close().
  bool open() const;
  // Total bytes delivered so far.
  std::uint64_t bytes_read() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sup::logging
