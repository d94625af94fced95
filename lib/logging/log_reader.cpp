#include "logging/log_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "util/unique_fd.hpp"

namespace sup::logging {
namespace {

// XML-RPC ints are 32-bit; clamping keeps offset + length far from overflow.
constexpr std::int64_t kLimit = std::int64_t{1} << 60;
std::int64_t clamp(std::int64_t v) { return std::clamp(v, -kLimit, kLimit); }

bool exists(const std::string& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0;
}

UniqueFd open_read(const std::string& path, int* err) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  *err = fd < 0 ? errno : 0;
  return UniqueFd(fd);
}

// Reads up to max bytes from pos (max < 0: to EOF). Returns errno or 0.
int read_at(int fd, std::int64_t pos, std::int64_t max, std::string* out) {
  char buf[65536];
  while (max != 0) {
    std::size_t want = sizeof buf;
    if (max > 0 && static_cast<std::uint64_t>(max) < want) want = static_cast<std::size_t>(max);
    ssize_t n = ::pread(fd, buf, want, static_cast<off_t>(pos));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) break;
    out->append(buf, static_cast<std::size_t>(n));
    pos += n;
    if (max > 0) max -= n;
  }
  return 0;
}

std::int64_t file_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return -1;
  return st.st_size;
}

ReadResult failure(ReadErrorKind kind, std::string detail) {
  ReadResult r;
  r.error = kind;
  r.detail = std::move(detail);
  return r;
}

}  // namespace

ReadResult read_log(const std::string& path, std::int64_t offset, std::int64_t length) {
  if (!exists(path)) return failure(ReadErrorKind::NoFile, path);
  offset = clamp(offset);
  length = clamp(length);
  // supervisord opens before it looks at the arguments: an unreadable file is
  // FAILED even with bad arguments.
  int err = 0;
  UniqueFd fd = open_read(path, &err);
  if (!fd) return failure(ReadErrorKind::Failed, std::generic_category().message(err));

  ReadResult r;
  if (offset < 0) {
    if (length != 0) return failure(ReadErrorKind::BadArguments, {});
    std::int64_t size = file_size(fd.get());
    if (size < 0) return failure(ReadErrorKind::Failed, std::generic_category().message(errno));
    std::int64_t pos = std::max<std::int64_t>(0, size + offset);
    err = read_at(fd.get(), pos, -offset, &r.data);
  } else {
    if (length < 0) return failure(ReadErrorKind::BadArguments, {});
    err = read_at(fd.get(), offset, length == 0 ? -1 : length, &r.data);
  }
  if (err) return failure(ReadErrorKind::Failed, std::generic_category().message(err));
  return r;
}

TailResult tail_log(const std::string& path, std::int64_t offset, std::int64_t length) {
  TailResult r;
  if (!exists(path)) return r;  // {"", 0, false}
  offset = clamp(offset);
  length = clamp(length);
  r.offset = offset;
  int err = 0;
  UniqueFd fd = open_read(path, &err);
  if (!fd) return r;  // {"", offset, false}
  std::int64_t size = file_size(fd.get());
  if (size < 0) return r;

  // supervisord's tailFile, step by step.
  if (size > offset + length) {
    r.overflow = true;
    offset = size - 1;
  }
  if (offset + length > size) {
    if (offset > size - 1) length = 0;
    offset = size - length;
  }
  offset = std::max<std::int64_t>(offset, 0);
  length = std::max<std::int64_t>(length, 0);
  if (length > 0 && read_at(fd.get(), offset, length, &r.bytes) != 0) {
    r.bytes.clear();
    r.overflow = false;
    return r;
  }
  r.offset = size;
  return r;
}

std::string utf8_sanitize(std::string_view s) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t min = 0;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4, min = 0x10000;
    }
    bool valid = len > 0 && i + len <= s.size();
    std::uint32_t cp = len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (std::size_t k = 1; valid && k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) valid = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (valid && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) valid = false;
    if (valid) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out.append(kReplacement);
      ++i;
    }
  }
  return out;
}

}  // namespace sup::logging
