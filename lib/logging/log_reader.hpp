// Reading log files for the RPC layer: supervisord's readLog /
// readProcess{Stdout,Stderr}Log and tailProcess{Stdout,Stderr}Log, with its
// exact offset/length rules (observed against supervisord 4.2.5; the cases
// are listed in tests/unit/logging/log_reader_test.cpp).
//
// Data is returned as raw bytes. supervisord decodes them as UTF-8 and
// answers HTTP 500 when a read starts or ends inside a multi-byte character;
// utf8_sanitize() lets the RPC layer return a valid string instead.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sup::logging {

enum class ReadErrorKind {
  None,
  BadArguments,  // Faults.BAD_ARGUMENTS (3)
  NoFile,        // Faults.NO_FILE (20): no log configured, or the file does not exist
  Failed,        // Faults.FAILED (30): exists but cannot be read (EACCES, a directory...)
};

struct ReadResult {
  ReadErrorKind error = ReadErrorKind::None;
  std::string data;    // the bytes read (empty on error)
  std::string detail;  // NoFile: the path (supervisord's "NO_FILE: /path"); Failed: the OS error
  bool ok() const { return error == ReadErrorKind::None; }
};

// readLog(offset, length) on path ("" = no log configured -> NoFile):
//   offset >= 0, length == 0: from offset to EOF;
//   offset >= 0, length > 0:  up to length bytes from offset;
//   offset < 0,  length == 0: the last -offset bytes (whole file if shorter);
//   offset < 0 with length != 0, or length < 0: BadArguments.
// A missing file is NoFile even when the arguments are bad (checked first).
// An offset past EOF gives "".
ReadResult read_log(const std::string& path, std::int64_t offset, std::int64_t length);

struct TailResult {
  std::string bytes;
  std::int64_t offset = 0;  // the file size (next offset to ask for)
  bool overflow = false;
};

// tailProcessLog(offset, length), quirks included:
//   size > offset + length: overflow, bytes = the last `length` bytes;
//   otherwise, if offset < size: bytes = the last min(length, size) bytes,
//     which can include bytes before `offset` (supervisord's behaviour);
//   offset >= size: bytes = "";
//   length <= 0 gives "" (overflow still computed as above);
//   missing file or path "": {"", 0, false}; unreadable: {"", offset, false}.
TailResult tail_log(const std::string& path, std::int64_t offset, std::int64_t length);

// Replaces each invalid UTF-8 sequence with U+FFFD, so a read that cut a
// multi-byte character still makes a valid XML-RPC string.
std::string utf8_sanitize(std::string_view bytes);

}  // namespace sup::logging
