// ChannelLog: where one output channel (stdout or stderr) of one process goes,
// as supervisord's output dispatcher logs it:
//   - raw bytes (no prefix, no newline added) into a RotatingFile, if any;
//   - ANSI CSI escapes removed first when [supervisord] strip_ansi=true;
//   - to syslog, one record per line as "<procname> <line>", when
//     *_syslog=true (or the deprecated *_logfile=syslog);
//   - into the daemon log at debug level as "'name' stdout output:\n<data>"
//     when the daemon log level is debug or lower (the Docker trick);
//   - to followers (the /logtail stream, PROCESS_LOG events).
// Event-loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/model.hpp"
#include "logging/rotating_file.hpp"
#include "util/result.hpp"

namespace sup::logging {

class ChannelLog {
 public:
  using Follower = std::function<void(std::string_view)>;

  // target: kind None (no file), File or Auto (target.path must already be
  // filled in, see make_auto_log_path), Syslog (no file, syslog on).
  // channel is "stdout" or "stderr". Nothing is opened here (supervisord
  // opens log files per spawn): see prepare().
  ChannelLog(const config::LogTarget& target, std::string process_name, std::string_view channel,
             bool strip_ansi);
  ~ChannelLog();
  ChannelLog(const ChannelLog&) = delete;
  ChannelLog& operator=(const ChannelLog&) = delete;

  // Call before each spawn: (re)opens the file as supervisord does per spawn,
  // so a log deleted or moved meanwhile is recreated. On failure returns
  // supervisord's spawnerr text, e.g. "unknown error making dispatchers for
  // 'web': EACCES", and keeps the previous file (if any). If prepare() was
  // never called, the first write() opens the file.
  sup::Status prepare();

  // One chunk of the child's output, exactly as read from the pipe.
  void write(std::string_view data);

  // Followers get every chunk (after ANSI stripping) until unfollowed. A
  // follower may unfollow itself (or others) from inside the callback.
  int follow(Follower f);
  void unfollow(int id);

  sup::Status reopen();  // SIGUSR2; no-op while nothing is open
  // clearProcessLogs: unlink and reopen (backups stay); unlinks the path when
  // nothing is open yet.
  sup::Status clear();
  // The log file path, "" if none (getProcessInfo stdout_logfile, readProcessLog).
  const std::string& path() const { return file_ ? file_->path() : path_; }
  std::string_view channel() const { return stderr_ ? "stderr" : "stdout"; }
  bool to_syslog() const { return syslog_; }
  // Bytes lost to write errors (and while the file could not be opened).
  std::uint64_t dropped_bytes() const;
  // Replaces the default reporting of file errors (the daemon log, level error).
  void set_error_callback(RotatingFile::ErrorCallback cb);

 private:
  sup::Status open_file();

  std::string process_name_;
  std::string path_;  // until a file is open (then file_->path(): one copy per log, issue 7)
  std::int64_t maxbytes_;
  int backups_;
  int next_follower_ = 1;
  bool stderr_;  // the channel: stderr, else stdout (no string per log: issue 7)
  bool syslog_;
  bool strip_ansi_;
  bool has_file_ = false;   // File or Auto target
  bool open_attempted_ = false;
  bool in_escape_ = false;  // an ANSI sequence continues from the previous chunk
  std::unique_ptr<RotatingFile> file_;
  std::uint64_t dropped_earlier_ = 0;  // before the current file_, or while none opens
  RotatingFile::ErrorCallback on_error_;
  std::vector<std::pair<int, Follower>> followers_;  // by id; rarely more than one
};

// Removes ANSI CSI sequences the way supervisord's stripEscapes does: from
// "ESC [" up to and including the first of H f A B C D R s u J K h l p m.
// *in_sequence carries an unterminated sequence over to the next chunk
// (supervisord forgets it at the chunk end and logs the rest).
std::string strip_ansi_escapes(std::string_view data, bool* in_sequence);

// AUTO log file for a channel, created empty (mode 0600) with mkstemps:
// <childlogdir>/<procname>-<channel>---<identifier>-XXXXXX.log. If it cannot
// be created, a warning is logged and a fresh name is still returned; opening
// it then fails and the process gets a spawn error, as with supervisord.
std::string make_auto_log_path(const std::string& childlogdir, const std::string& procname,
                               const std::string& channel, const std::string& identifier);

// True for names supervisord's startup cleanup removes: it matches the start
// of the name against .+?---<identifier>-\S+\.log (backups .log.N included).
bool is_auto_log_name(std::string_view filename, std::string_view identifier);

// Startup cleanup (unless nocleanup): deletes matching files in childlogdir,
// logging supervisord's warnings on failure. Returns how many were removed.
std::size_t cleanup_auto_logs(const std::string& childlogdir, const std::string& identifier);

}  // namespace sup::logging
