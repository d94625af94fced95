// HTTP/1.1 server on Boost.Beast: the project's only Beast translation unit.
//
// One Session per connection, one request at a time. A request is read
// (header first, so limits and Expect: 100-continue are handled before the
// body), authenticated, and handed to the application with a Reply. While
// the reply is pending (deferred answer, or a stream) the session watches
// the socket for readability to notice a client that goes away. Responses
// are serialised by hand into a write queue: Beast parses, we write.
#include "http/server.hpp"
#include "http/request_parse.hpp"
#include "util/nss.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/uuid/detail/sha1.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <optional>
#include <unordered_map>

namespace sup::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

namespace {

constexpr int kLogError = 40;
constexpr int kLogWarn = 30;
constexpr int kLogInfo = 20;
constexpr int kLogDebug = 10;
constexpr int kLogTrace = 5;

// After the last response of a connection that must close, unread input is
// drained for this long so that closing does not reset the connection
// (and destroy the response) while the client is still sending.
constexpr std::chrono::seconds kDrainTime{2};

constexpr char kInUse[] =
    "Another program is already listening on a port that one of our HTTP servers is configured to use.  "
    "Shut this program down first before starting supervisord.";

std::string errno_text(int e) {
  const char* name = ::strerrorname_np(e);
  return std::string("socket.error reported errno.") + (name ? name : "E?") + " (" + std::to_string(e) + ")";
}

std::string reason_for(int status) {
  auto r = bhttp::obsolete_reason(bhttp::int_to_status(static_cast<unsigned>(status)));
  if (r.empty() || r == "<unknown-status>") return "Unknown";
  return std::string(r);
}

std::string http_date() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string_view sv(beast::string_view s) { return std::string_view(s.data(), s.size()); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Compares without an early exit, so timing does not reveal how much of a
// secret matched.
bool equal_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  std::size_t n = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

struct Auth {
  std::string username;
  std::string password;  // plain or {SHA}hex
  // GET/HEAD of these paths (query ignored) need no credentials (probes_public=).
  std::vector<std::string> public_paths;
  bool required() const { return !username.empty(); }
  bool exempt(std::string_view method, std::string_view target) const {
    if (method != "GET" && method != "HEAD") return false;
    std::string_view path = target.substr(0, target.find('?'));
    return std::find(public_paths.begin(), public_paths.end(), path) != public_paths.end();
  }
};

bool password_matches(std::string_view given, const std::string& stored) {
  constexpr std::string_view kSha = "{SHA}";
  if (stored.compare(0, kSha.size(), kSha) == 0)
    return equal_secret(sha1_hex(given), lower(std::string_view(stored).substr(kSha.size())));
  return equal_secret(given, stored);
}

// Checks an Authorization header against auth; fills *user on success.
bool authorized(const std::string* header, const Auth& auth, std::string* user) {
  if (header == nullptr) return false;
  std::string_view h = *header;
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  if (h.size() < 6 || lower(h.substr(0, 6)) != "basic ") return false;
  h.remove_prefix(6);
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
  // Beast's decoded_size() (n / 4 * 3) is too small when n is not a multiple
  // of 4, yet decode() also decodes such a tail: room for every group
  // (found by tests/fuzz: a stack buffer overflow on a bad header).
  std::string decoded((h.size() + 3) / 4 * 3, '\0');
  auto [written, read] = beast::detail::base64::decode(decoded.data(), h.data(), h.size());
  // Beast's decoder stops at the '=' padding; anything else left is invalid.
  if (h.substr(read).find_first_not_of('=') != std::string_view::npos) return false;
  decoded.resize(written);
  auto colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  std::string_view name = std::string_view(decoded).substr(0, colon);
  std::string_view pass = std::string_view(decoded).substr(colon + 1);
  // Both are compared whatever the first says ('&', not '&&'), so timing does not tell which was wrong.
  bool ok = (static_cast<unsigned>(equal_secret(name, auth.username)) &
             static_cast<unsigned>(password_matches(pass, auth.password))) != 0;
  if (ok) *user = std::string(name);
  return ok;
}

// What a listener enforces on each of its connections.
struct Policy {
  Auth auth;
  std::vector<uid_t> allowed_uids;  // unix listeners only; empty: no uid check
  std::string socket_path;          // unix: the configured path, for log lines
};

// Refusals (bad credentials, a uid not allowed) are logged one line each,
// at most kRefusalBurst lines per kRefusalWindow; beyond that they are
// counted and the count is logged once the window ends. A client looping
// on connect + bad request thus adds a few lines per window to the log,
// not one per attempt, while an isolated mistake is always logged in full.
constexpr int kRefusalBurst = 20;
constexpr std::chrono::seconds kRefusalWindow{10};

// Text from the client, made safe for a one-line log entry: printable
// ASCII only (others become '?'), at most max characters.
std::string printable(std::string_view in, std::size_t max = 64) {
  std::string out;
  for (char c : in.substr(0, max)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (in.size() > max) out += "...";
  return out;
}

// For the log: which credentials a refused request offered. Only the user
// name is ever shown, never the password nor the header itself.
std::string credentials_tried(const std::string* header) {
  if (header == nullptr) return "no credentials";
  std::string_view h = *header;
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  if (h.size() < 6 || lower(h.substr(0, 6)) != "basic ") return "credentials of an unsupported scheme";
  h.remove_prefix(6);
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
  std::string decoded((h.size() + 3) / 4 * 3, '\0');  // not decoded_size(): see authorized()
  auto [written, read] = beast::detail::base64::decode(decoded.data(), h.data(), h.size());
  decoded.resize(written);
  auto colon = decoded.find(':');
  if (h.substr(read).find_first_not_of('=') != std::string_view::npos || colon == std::string::npos)
    return "malformed credentials";
  return "wrong credentials for user '" + printable(std::string_view(decoded).substr(0, colon)) + "'";
}

std::string error_page(int status) {
  std::string title = std::to_string(status) + " " + reason_for(status);
  return "<html><head><title>" + title + "</title></head><body><h1>" + title + "</h1></body></html>\n";
}

// The parts of request reading shared by the sessions (socket) and
// parse_request() (bytes), so that both behave the same.
using RequestParser = bhttp::request_parser<bhttp::string_body>;

void apply_limits(RequestParser& parser, const Limits& limits) {
  parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
  parser.body_limit(static_cast<std::uint64_t>(limits.body_limit));
}

// The client went away, or stopped in the middle of a request: nothing to answer.
bool quiet_close(error_code ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::operation_aborted ||
         ec == asio::error::connection_reset || ec == bhttp::error::partial_message;
}

// The status answered (before closing) to a request that failed to parse
// with `ec`; 0 when the connection just closes.
int status_for_read_error(error_code ec) {
  if (quiet_close(ec)) return 0;
  if (ec == bhttp::error::body_limit) return 413;
  if (ec == bhttp::error::header_limit) return 431;
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) return 400;
  return 0;
}

bool expects_continue(const RequestParser& parser) {
  const auto& req = parser.get();
  auto expect = req.find(bhttp::field::expect);
  return expect != req.end() && lower(sv(expect->value())) == "100-continue";
}

// The application's view of a parsed request; takes the body.
HttpRequest request_from(RequestParser::value_type& msg) {
  HttpRequest req;
  req.method = std::string(sv(msg.method_string()));
  req.target = std::string(sv(msg.target()));
  req.body = std::move(msg.body());
  for (const auto& f : msg) req.headers.emplace_back(lower(sv(f.name_string())), std::string(sv(f.value())));
  return req;
}

}  // namespace

std::string sha1_hex(std::string_view data) {
  boost::uuids::detail::sha1 h;
  h.process_bytes(data.data(), data.size());
  boost::uuids::detail::sha1::digest_type digest;
  h.get_digest(digest);
  char out[41];
  for (int i = 0; i < 5; ++i) std::snprintf(out + i * 8, 9, "%08x", digest[i]);
  return std::string(out, 40);
}

bool check_basic_auth(const std::string* header, const std::string& username, const std::string& password,
                      std::string* user) {
  return authorized(header, Auth{username, password, {}}, user);
}

ParseOutcome parse_request(std::string_view bytes, const Limits& limits, bool at_eof) {
  ParseOutcome out;
  RequestParser parser;
  apply_limits(parser, limits);
  parser.eager(true);  // header and body in one go, as the session's body read does
  std::size_t used = 0;
  error_code ec;
  while (!parser.is_done()) {
    std::size_t n = parser.put(asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (ec == bhttp::error::need_more || (!ec && n == 0)) {
      // Nothing more can be parsed from what is there.
      if (!at_eof) return out;  // Incomplete
      ec = {};
      // Like Beast's read: a connection closed before any byte of a
      // request is the end of the stream, not a truncated request.
      if (!parser.got_some()) {
        ec = bhttp::error::end_of_stream;
        break;
      }
      parser.put_eof(ec);
      if (!ec && !parser.is_done()) ec = bhttp::error::partial_message;
      if (ec) break;
      continue;
    }
    if (ec) break;
  }
  if (ec) {
    out.kind = ParseOutcome::Kind::Error;
    out.status = status_for_read_error(ec);
    out.reason = ec.message();
    return out;
  }
  auto& msg = parser.get();
  out.kind = ParseOutcome::Kind::Request;
  out.parsed.expect_continue = expects_continue(parser);
  out.parsed.keep_alive = msg.keep_alive();
  out.parsed.http10 = msg.version() == 10;
  out.parsed.request = request_from(msg);
  out.parsed.consumed = used;
  return out;
}

// ---------------------------------------------------------------------------

class SessionBase;
class ReplyImpl;

struct HttpServer::State {
  asio::io_context& io;
  Handler handler;
  LogFn log;
  Limits limits;
  bool closed = false;

  struct UnixListener {
    std::unique_ptr<asio::local::stream_protocol::acceptor> acceptor;
    std::string path;
    dev_t dev = 0;
    ino_t ino = 0;
  };
  std::vector<UnixListener> unix_listeners;
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> tcp_listeners;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;
  int last_port = 0;
  std::uint64_t next_connection_id = 1;
  std::chrono::steady_clock::time_point last_overload_log{};
  std::vector<std::string> public_paths;  // see HttpServer::set_public_paths
  // Refusal log bounding (see kRefusalBurst).
  std::chrono::steady_clock::time_point refusal_window_start{};
  int refusals_logged = 0;
  std::uint64_t refusals_unlogged = 0;
  asio::steady_timer refusal_timer;  // armed only while refusals are unlogged

  State(asio::io_context& i, Handler h, LogFn l, Limits lim)
      : io(i), handler(std::move(h)), log(std::move(l)), limits(lim), refusal_timer(i), idle_timer(i) {}
  std::function<void()> on_idle;  // see HttpServer::set_on_idle
  std::chrono::milliseconds idle_delay{0};
  asio::steady_timer idle_timer;  // armed only between a last close and on_idle
  bool idle_armed = false;
  void write_log(int level, const std::string& m) const {
    if (log) log(level, m);
  }
  // A session is gone; when it was the last one, on_idle runs idle_delay
  // later (once at most per delay, however many bursts end meanwhile), when
  // the sessions' buffers are long freed.
  static void forget(const std::shared_ptr<State>& st, SessionBase* session) {
    if (st->sessions.erase(session) == 0 || !st->sessions.empty() || !st->on_idle || st->closed || st->idle_armed)
      return;
    st->idle_armed = true;
    st->idle_timer.expires_after(st->idle_delay);
    std::weak_ptr<State> weak = st;
    st->idle_timer.async_wait([weak](const boost::system::error_code& ec) {
      auto s = weak.lock();
      if (!s) return;
      s->idle_armed = false;
      if (!ec && !s->closed && s->on_idle) s->on_idle();
    });
  }
  void flush_unlogged_refusals() {
    if (refusals_unlogged == 0) return;
    write_log(kLogWarn, std::to_string(refusals_unlogged) + " more refused HTTP request(s) or connection(s) not logged (at most " +
                            std::to_string(kRefusalBurst) + " are logged every " +
                            std::to_string(kRefusalWindow.count()) + " seconds)");
    refusals_unlogged = 0;
  }
};

using State = HttpServer::State;

namespace {

// Logs one refusal line, within the bound described at kRefusalBurst.
void note_refusal(const std::shared_ptr<State>& state, const std::string& line) {
  auto now = std::chrono::steady_clock::now();
  if (now - state->refusal_window_start >= kRefusalWindow) {
    state->flush_unlogged_refusals();
    state->refusal_window_start = now;
    state->refusals_logged = 0;
  }
  if (state->refusals_logged < kRefusalBurst) {
    ++state->refusals_logged;
    state->write_log(kLogWarn, line);
    return;
  }
  if (state->refusals_unlogged++ > 0) return;
  // One timer per window with unlogged refusals, so the count is reported
  // even when the flood stops.
  state->refusal_timer.expires_at(state->refusal_window_start + kRefusalWindow);
  std::weak_ptr<State> weak = state;
  state->refusal_timer.async_wait([weak](error_code ec) {
    if (ec) return;
    if (auto s = weak.lock()) s->flush_unlogged_refusals();
  });
}

}  // namespace

// The part of a session a Reply talks to.
class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  virtual void enqueue(std::string data) = 0;
  // The reply's last bytes are queued; continue with the next request, or close.
  virtual void response_done(bool keep_alive) = 0;
  virtual std::size_t pending_bytes() const = 0;
  virtual void shutdown() = 0;  // server close: drop the connection now
  virtual void log(int level, const std::string& m) const = 0;
};

// Ownership: while a reply is open (Pending or Streaming) it holds its
// session, so a deferred answer keeps the connection alive for as long as
// the application keeps the reply; the session only holds the reply weakly.
// A reply dropped unanswered answers 500 (or ends its stream) by itself.
class ReplyImpl final : public Reply {
 public:
  enum class Phase { Pending, Streaming, Done, Lost };

  ReplyImpl(std::shared_ptr<SessionBase> session, bool head, bool http10, bool keep_alive)
      : session_(std::move(session)), head_(head), http10_(http10), keep_alive_(keep_alive) {}

  ~ReplyImpl() override {
    if (!session_) return;
    if (phase_ == Phase::Pending) {
      session_->log(kLogError, "HTTP reply dropped without an answer; sent 500");
      send(500, "text/html", error_page(500), {});
    } else if (phase_ == Phase::Streaming) {
      end_stream();
    }
  }

  void send(int status, std::string content_type, std::string body, Headers extra_headers) override {
    if (!usable("send", Phase::Pending)) return;
    bool keep = keep_alive_ && status != 401;  // like supervisord, 401 closes
    std::string out = head_lines(status, content_type, extra_headers, keep);
    out.reserve(out.size() + 40 + (head_ ? 0 : body.size()));  // one copy of the body, no regrowth
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    if (!head_) out += body;
    session_->enqueue(std::move(out));
    finish(keep);
  }

  void start_stream(int status, std::string content_type, Headers extra_headers) override {
    if (!usable("start_stream", Phase::Pending)) return;
    std::string out = head_lines(status, content_type, extra_headers, keep_alive_ && !http10_);
    if (!http10_) out += "Transfer-Encoding: chunked\r\n";
    out += "\r\n";
    phase_ = Phase::Streaming;
    session_->enqueue(std::move(out));
    if (head_) end_stream();
  }

  void write_chunk(std::string_view data) override {
    if (data.empty() || !usable("write_chunk", Phase::Streaming) || head_) return;
    if (http10_) {
      session_->enqueue(std::string(data));
      return;
    }
    char size[24];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    std::string out;
    out.reserve(data.size() + 32);
    out += size;
    out += data;
    out += "\r\n";
    session_->enqueue(std::move(out));
  }

  void end_stream() override {
    if (!usable("end_stream", Phase::Streaming)) return;
    if (!http10_ && !head_) session_->enqueue("0\r\n\r\n");
    finish(keep_alive_ && !http10_);
  }

  bool closed() const override { return phase_ == Phase::Done || phase_ == Phase::Lost; }

  void set_on_close(std::function<void()> on_close) override {
    if (phase_ == Phase::Lost) {
      if (on_close) on_close();
      return;
    }
    if (phase_ == Phase::Done) return;  // completed: it will never fire
    on_close_ = std::move(on_close);
  }

  std::size_t pending_bytes() const override { return session_ ? session_->pending_bytes() : 0; }

  // The connection is gone. Fires on_close if the reply had not completed.
  void lost() {
    bool was_open = phase_ == Phase::Pending || phase_ == Phase::Streaming;
    phase_ = Phase::Lost;
    session_.reset();
    auto cb = std::move(on_close_);
    on_close_ = nullptr;
    if (was_open && cb) cb();
  }

  Phase phase() const { return phase_; }

 private:
  // True when the reply is in phase `want`; misuse is logged, a lost
  // connection is silently ignored.
  bool usable(const char* what, Phase want) {
    if (phase_ == want && session_) return true;
    if (phase_ != Phase::Lost && session_)
      session_->log(kLogError, std::string("HTTP reply: ") + what + "() in the wrong state (ignored)");
    return false;
  }

  void finish(bool keep) {
    phase_ = Phase::Done;
    on_close_ = nullptr;  // may capture this reply: break the cycle
    auto s = std::move(session_);
    s->response_done(keep);
  }

  std::string head_lines(int status, const std::string& content_type, const Headers& extra, bool keep) const {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason_for(status) +
                      "\r\nServer: supervisor-cpp\r\nDate: " + http_date() + "\r\n";
    if (!content_type.empty()) out += "Content-Type: " + content_type + "\r\n";
    for (const auto& [k, v] : extra) out += k + ": " + v + "\r\n";
    if (!keep) out += "Connection: close\r\n";
    else if (http10_) out += "Connection: keep-alive\r\n";
    return out;
  }

  std::shared_ptr<SessionBase> session_;  // null once Done or Lost
  bool head_;
  bool http10_;
  bool keep_alive_;
  Phase phase_ = Phase::Pending;
  std::function<void()> on_close_;
};

template <class Protocol>
class Session final : public SessionBase {
 public:
  using Socket = typename Protocol::socket;

  Session(Socket socket, std::shared_ptr<State> state, Auth auth, std::string peer)
      : sock_(std::move(socket)),
        timer_(state->io),
        state_(std::move(state)),
        auth_(std::move(auth)),
        peer_(std::move(peer)),
        id_(state_->next_connection_id++) {}

  ~Session() override { State::forget(state_, this); }

  void start() {
    state_->sessions.emplace(this, weak_from_this());
    read_header();
  }

  void enqueue(std::string data) override {
    if (closed_) return;
    pending_ += data.size();
    out_.push_back(std::move(data));
    write_some();
  }

  void response_done(bool keep_alive) override {
    after_write_ = keep_alive ? Next::ReadNext : Next::Close;
    if (!writing_) proceed();
  }

  std::size_t pending_bytes() const override { return pending_; }

  // Server close: a response already queued (e.g. the answer to the RPC
  // that asked for the shutdown) is still flushed, within kDrainTime; an
  // open reply is lost.
  void shutdown() override {
    auto open = reply_.lock();
    bool flushing = (writing_ || !out_.empty()) &&
                    !(open && (open->phase() == ReplyImpl::Phase::Pending ||
                               open->phase() == ReplyImpl::Phase::Streaming));
    if (!flushing || closed_) return close_now();
    after_write_ = Next::Close;
    timer_.expires_after(kDrainTime);
    auto self = shared();
    timer_.async_wait([self](error_code ec) {
      if (!ec) self->close_now();
    });
  }

  void log(int level, const std::string& m) const override { state_->write_log(level, m); }

 private:
  enum class Next { Wait, ReadNext, Close };
  using Parser = bhttp::request_parser<bhttp::string_body>;

  void read_header() {
    if (closed_) return;
    reply_.reset();
    after_write_ = Next::Wait;
    parser_.emplace();
    apply_limits(*parser_, state_->limits);
    arm_idle_timer();
    auto self = shared();
    bhttp::async_read_header(sock_, buf_, *parser_, [self](error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(error_code ec) {
    if (closed_) return;
    if (ec) return read_failed(ec);
    if (expects_continue(*parser_) && !parser_->is_done()) {
      if (auth_.required() && !exempt_now() && !authorized_now()) return reject_unauthorized();
      enqueue("HTTP/1.1 100 Continue\r\n\r\n");
    }
    auto self = shared();
    bhttp::async_read(sock_, buf_, *parser_, [self](error_code ec2, std::size_t) { self->on_body(ec2); });
  }

  void on_body(error_code ec) {
    if (closed_) return;
    if (ec) return read_failed(ec);
    timer_.cancel();
    dispatch();
  }

  void read_failed(error_code ec) {
    if (quiet_close(ec)) {
      if (idle_expired_) log(kLogDebug, "HTTP connection idle for too long, closed");
      return close_now();
    }
    int status = status_for_read_error(ec);
    if (status == 400) log(kLogDebug, "malformed HTTP request: " + ec.message());
    if (status != 0) return error_and_close(status);
    log(kLogTrace, "HTTP read error: " + ec.message());
    close_now();
  }

  // Answers with an error page and closes (the request stream is unusable).
  void error_and_close(int status) {
    timer_.cancel();
    std::string body = error_page(status);
    enqueue("HTTP/1.1 " + std::to_string(status) + " " + reason_for(status) +
            "\r\nServer: supervisor-cpp\r\nDate: " + http_date() +
            "\r\nContent-Type: text/html\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\nConnection: close\r\n\r\n" + body);
    response_done(false);
  }

  void reject_unauthorized() {
    timer_.cancel();
    const auto& req = parser_->get();
    auto it = req.find(bhttp::field::authorization);
    std::string value = it == req.end() ? std::string() : std::string(sv(it->value()));
    note_refusal(state_, "HTTP request " + printable(sv(req.method_string()), 16) + " " +
                             printable(sv(req.target()), 80) + " from " + peer_ + " refused (401): " +
                             credentials_tried(it == req.end() ? nullptr : &value));
    std::string body = error_page(401);
    enqueue("HTTP/1.1 401 Unauthorized\r\nServer: supervisor-cpp\r\nDate: " + http_date() +
            "\r\nWWW-Authenticate: Basic realm=\"default\"\r\nContent-Type: text/html\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    response_done(false);
  }

  bool exempt_now() const {
    const auto& req = parser_->get();
    return auth_.exempt(sv(req.method_string()), sv(req.target()));
  }

  bool authorized_now() {
    const auto& req = parser_->get();
    auto it = req.find(bhttp::field::authorization);
    std::string value = it == req.end() ? std::string() : std::string(sv(it->value()));
    return authorized(it == req.end() ? nullptr : &value, auth_, &user_);
  }

  void dispatch() {
    auto& msg = parser_->get();
    // The one authentication check: before any routing, so every path the
    // application serves (and every one it does not) is covered.
    if (auth_.required() && !exempt_now() && !authorized_now()) return reject_unauthorized();
    HttpRequest req = request_from(msg);
    req.username = user_;
    req.connection_id = id_;
    bool keep = msg.keep_alive();
    auto reply = std::make_shared<ReplyImpl>(shared_from_this(), req.method == "HEAD", msg.version() == 10, keep);
    reply_ = reply;
    try {
      state_->handler(req, reply);
    } catch (const std::exception& e) {
      handler_failed(reply, e.what());
    } catch (...) {
      handler_failed(reply, "unknown exception");
    }
    if (!closed_ && reply_.lock() == reply &&
        (reply->phase() == ReplyImpl::Phase::Pending || reply->phase() == ReplyImpl::Phase::Streaming))
      watch();
  }

  void handler_failed(const std::shared_ptr<ReplyImpl>& reply, const char* what) {
    log(kLogError, std::string("HTTP handler failed: ") + what);
    if (reply->phase() == ReplyImpl::Phase::Pending) reply->send(500, "text/html", error_page(500), Headers{});
    else if (reply->phase() == ReplyImpl::Phase::Streaming) close_now();
  }

  // While a reply is outstanding, notice a client that closes the connection.
  void watch() {
    if (watching_ || closed_) return;
    watching_ = true;
    auto self = shared();
    unsigned gen = ++watch_gen_;
    sock_.async_wait(Socket::wait_read, [self, gen](error_code ec) { self->on_watch(ec, gen); });
  }

  void on_watch(error_code ec, unsigned gen) {
    if (gen != watch_gen_) return;  // a newer watch (or none) is current
    watching_ = false;
    if (closed_ || ec == asio::error::operation_aborted) return;
    if (ec) return close_now();
    if (!buf_.size()) {
      char c;
      ssize_t n = ::recv(sock_.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return close_now();
      if (n < 0) return watch();
    }
    // Data: the next (pipelined) request, read once this reply is done.
  }

  void stop_watching() {
    if (!watching_) return;
    watching_ = false;
    ++watch_gen_;
    error_code ignored;
    sock_.cancel(ignored);
  }

  void write_some() {
    if (writing_ || out_.empty() || closed_) return;
    writing_ = true;
    // Coalesce queued pieces (many small chunks of a stream) into one write;
    // a lone piece (a whole response) is moved, not copied.
    inflight_ = std::move(out_.front());
    out_.pop_front();
    while (!out_.empty()) {
      inflight_ += out_.front();
      out_.pop_front();
    }
    auto self = shared();
    asio::async_write(sock_, asio::buffer(inflight_), [self](error_code ec, std::size_t n) {
      self->on_written(ec, n);
    });
  }

  void on_written(error_code ec, std::size_t n) {
    writing_ = false;
    pending_ -= n < pending_ ? n : pending_;
    if (closed_) return;
    if (ec) {
      log(kLogTrace, "HTTP write failed: " + ec.message());
      return close_now();
    }
    if (!out_.empty()) return write_some();
    proceed();
  }

  // All queued bytes are written: act on how the last response ended.
  void proceed() {
    if (closed_ || writing_ || !out_.empty()) return;
    if (after_write_ == Next::ReadNext) {
      stop_watching();
      read_header();
    } else if (after_write_ == Next::Close) {
      after_write_ = Next::Wait;
      drain_and_close();
    }
  }

  void drain_and_close() {
    stop_watching();
    error_code ignored;
    sock_.shutdown(Socket::shutdown_send, ignored);
    timer_.expires_after(kDrainTime);
    auto self = shared();
    timer_.async_wait([self](error_code ec) {
      if (!ec) self->close_now();
    });
    drain();
  }

  void drain() {
    auto self = shared();
    sock_.async_read_some(asio::buffer(drain_buf_), [self](error_code ec, std::size_t) {
      if (self->closed_) return;
      if (ec) return self->close_now();
      self->drain();
    });
  }

  void arm_idle_timer() {
    idle_expired_ = false;
    timer_.expires_after(state_->limits.idle_timeout);
    auto self = shared();
    timer_.async_wait([self](error_code ec) {
      if (ec || self->closed_) return;
      self->idle_expired_ = true;
      error_code ignored;
      self->sock_.cancel(ignored);  // the read completes with operation_aborted
    });
  }

  void close_now() {
    if (closed_) return;
    closed_ = true;
    error_code ignored;
    timer_.cancel();
    sock_.shutdown(Socket::shutdown_both, ignored);
    sock_.close(ignored);
    out_.clear();
    pending_ = 0;
    State::forget(state_, this);
    if (auto r = reply_.lock()) {
      reply_.reset();
      r->lost();
    }
  }

  std::shared_ptr<Session> shared() { return std::static_pointer_cast<Session>(shared_from_this()); }

  Socket sock_;
  asio::steady_timer timer_;  // idle timeout, then drain deadline
  std::shared_ptr<State> state_;
  Auth auth_;
  std::string peer_;  // for log lines: "unix peer pid 12 uid 0" or "127.0.0.1:40000"
  std::uint64_t id_;
  beast::flat_buffer buf_;
  std::optional<Parser> parser_;
  std::weak_ptr<ReplyImpl> reply_;  // the reply being answered, if any
  std::string user_;
  std::deque<std::string> out_;
  std::string inflight_;
  std::size_t pending_ = 0;
  bool writing_ = false;
  bool closed_ = false;
  bool watching_ = false;
  unsigned watch_gen_ = 0;
  bool idle_expired_ = false;
  Next after_write_ = Next::Wait;
  char drain_buf_[4096];
};

// ---------------------------------------------------------------------------

namespace {

std::string describe_peer(asio::ip::tcp::socket& socket) {
  error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "an unknown TCP peer";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

// The unix peer's credentials (SO_PEERCRED: the process that connected).
std::optional<ucred> peer_credentials(asio::local::stream_protocol::socket& socket) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred)
    return std::nullopt;
  return cred;
}

std::string describe_peer(asio::local::stream_protocol::socket& socket) {
  auto cred = peer_credentials(socket);
  if (!cred) return "a unix peer with unknown credentials";
  return "unix peer pid " + std::to_string(cred->pid) + " uid " + std::to_string(cred->uid);
}

// allowed_uids: root and the daemon's own user can always connect (they
// can signal or trace the daemon anyway; refusing them protects nothing).
bool uid_allowed(const Policy& policy, uid_t uid) {
  if (policy.allowed_uids.empty() || uid == 0 || uid == ::geteuid()) return true;
  return std::find(policy.allowed_uids.begin(), policy.allowed_uids.end(), uid) != policy.allowed_uids.end();
}

// False (and logged) when a unix peer's uid is not in allowed_uids.
bool admit(const std::shared_ptr<State>& state, const Policy& policy, asio::local::stream_protocol::socket& socket) {
  if (policy.allowed_uids.empty()) return true;
  auto cred = peer_credentials(socket);
  if (cred && uid_allowed(policy, cred->uid)) return true;
  // (The socket's own name is the temporary one it was bound to.)
  const std::string& where = policy.socket_path;
  note_refusal(state, cred ? "HTTP connection on " + where + " from pid " + std::to_string(cred->pid) + " uid " +
                                 std::to_string(cred->uid) + " refused: uid not in allowed_uids"
                           : "HTTP connection on " + where + " refused: peer credentials unknown");
  return false;
}

bool admit(const std::shared_ptr<State>&, const Policy&, asio::ip::tcp::socket&) { return true; }

template <class Protocol>
void accept_loop(std::shared_ptr<State> state, typename Protocol::acceptor* acceptor, Policy policy) {
  acceptor->async_accept([state, acceptor, policy](error_code ec, typename Protocol::socket socket) {
    if (state->closed || ec == asio::error::operation_aborted) return;
    if (ec) {
      state->write_log(kLogError, "HTTP accept failed: " + ec.message());
      if (ec == asio::error::no_descriptors || ec.value() == ENFILE || ec == asio::error::no_buffer_space ||
          ec == asio::error::no_memory) {
        // Retry later instead of spinning while the condition lasts.
        auto timer = std::make_shared<asio::steady_timer>(state->io, std::chrono::milliseconds(200));
        timer->async_wait([state, acceptor, policy, timer](error_code tec) {
          if (!tec && !state->closed) accept_loop<Protocol>(state, acceptor, policy);
        });
        return;
      }
      return accept_loop<Protocol>(state, acceptor, policy);
    }
    if (state->sessions.size() >= state->limits.max_connections) {
      auto now = std::chrono::steady_clock::now();
      if (now - state->last_overload_log > std::chrono::seconds(10)) {
        state->last_overload_log = now;
        state->write_log(kLogWarn, "HTTP server: " + std::to_string(state->limits.max_connections) +
                                       " connections open, closing new ones");
      }
      error_code ignored;
      socket.close(ignored);
    } else if (!admit(state, policy, socket)) {
      error_code ignored;
      socket.close(ignored);
    } else {
      std::string peer = describe_peer(socket);
      std::make_shared<Session<Protocol>>(std::move(socket), state, policy.auth, std::move(peer))->start();
    }
    accept_loop<Protocol>(state, acceptor, policy);
  });
}

// True when something accepts connections on the unix socket at path.
bool unix_socket_answers(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.data(), path.size());
  int r;
  do r = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  while (r < 0 && errno == EINTR);
  ::close(fd);
  return r == 0;
}

Policy policy_of(const config::HttpServerConfig& cfg, const std::vector<std::string>& public_paths) {
  Policy p{Auth{cfg.username, cfg.password, cfg.probes_public ? public_paths : std::vector<std::string>{}}, {}, {}};
  if (cfg.kind == config::HttpServerConfig::Kind::Unix) {
    p.allowed_uids = cfg.allowed_uids;
    p.socket_path = cfg.file;
  }
  return p;
}

}  // namespace

HttpServer::HttpServer(asio::io_context& io, Handler handler, LogFn log, Limits limits)
    : state_(std::make_shared<State>(io, std::move(handler), std::move(log), limits)) {}

HttpServer::~HttpServer() { close(); }

sup::Status HttpServer::listen_unix(const config::HttpServerConfig& cfg) {
  const std::string& path = cfg.file;
  if (path.empty()) return sup::Error{"Cannot open an HTTP server: no socket file configured"};
  std::string tmp = path + "." + std::to_string(::getpid());
  if (tmp.size() >= sizeof(sockaddr_un::sun_path))
    return sup::Error{"Cannot open an HTTP server: socket path too long: " + path};

  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (unix_socket_answers(path)) return sup::Error{kInUse};
    if (!S_ISSOCK(st.st_mode))
      return sup::Error{"Cannot open an HTTP server: " + path + " exists and is not a socket"};
    state_->write_log(kLogInfo, "Unlinking stale socket " + path);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return sup::Error{"Cannot open an HTTP server: cannot unlink stale socket " + path + ": " +
                        std::strerror(errno)};
  }

  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return sup::Error{"Cannot open an HTTP server: " + errno_text(errno)};
  auto fail = [&](std::string message) -> sup::Status {
    ::close(fd);
    ::unlink(tmp.c_str());
    return sup::Error{std::move(message)};
  };
  ::unlink(tmp.c_str());  // leftover of an earlier run with the same pid
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, tmp.data(), tmp.size());
  // Bound under umask 0777 the socket starts with mode 0000 and is opened
  // up to exactly cfg.chmod below: it is never more permissive than
  // configured. The umask is process-wide; the daemon is single-threaded.
  mode_t old_umask = ::umask(0777);
  int b = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  int bind_errno = errno;
  ::umask(old_umask);
  if (b != 0) {
    ::close(fd);
    return sup::Error{"Cannot open an HTTP server: " + errno_text(bind_errno)};
  }
  if (cfg.chown_uid || cfg.chown_gid) {
    uid_t uid = cfg.chown_uid ? *cfg.chown_uid : static_cast<uid_t>(-1);
    gid_t gid = cfg.chown_gid ? *cfg.chown_gid : static_cast<gid_t>(-1);
    if (::chown(tmp.c_str(), uid, gid) != 0)
      return fail("Cannot change the owner of " + path + " (" + std::strerror(errno) + ")");
  }
  if (::chmod(tmp.c_str(), cfg.chmod & 07777) != 0)
    return fail("Cannot change the permissions of " + path + " (" + std::strerror(errno) + ")");
  if (::listen(fd, SOMAXCONN) != 0) return fail("Cannot open an HTTP server: " + errno_text(errno));
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    if (e == EEXIST && unix_socket_answers(path)) return fail(kInUse);
    return fail("Cannot open an HTTP server: " + errno_text(e));
  }
  ::unlink(tmp.c_str());
  if (::stat(path.c_str(), &st) != 0) return fail("Cannot open an HTTP server: " + errno_text(errno));

  State::UnixListener l;
  l.path = path;
  l.dev = st.st_dev;
  l.ino = st.st_ino;
  l.acceptor = std::make_unique<asio::local::stream_protocol::acceptor>(state_->io);
  error_code ec;
  l.acceptor->assign(asio::local::stream_protocol(), fd, ec);
  if (ec) {
    ::close(fd);
    ::unlink(path.c_str());
    return sup::Error{"Cannot open an HTTP server: " + ec.message()};
  }
  auto* acceptor = l.acceptor.get();
  state_->unix_listeners.push_back(std::move(l));
  state_->closed = false;
  accept_loop<asio::local::stream_protocol>(state_, acceptor, policy_of(cfg, state_->public_paths));
  return {};
}

sup::Status HttpServer::listen_inet(const config::HttpServerConfig& cfg) {
  if (cfg.port < 0 || cfg.port > 65535)
    return sup::Error{"Cannot open an HTTP server: bad port " + std::to_string(cfg.port)};
  asio::ip::tcp::endpoint ep;
  if (cfg.host.empty() || cfg.host == "*") {
    ep = asio::ip::tcp::endpoint(asio::ip::address_v4::any(), static_cast<unsigned short>(cfg.port));
  } else {
    error_code ec;
    asio::ip::tcp::resolver resolver(state_->io);
    auto results = resolver.resolve(cfg.host, std::to_string(cfg.port), ec);
    if (!ec && !results.empty()) {
      ep = results.begin()->endpoint();
    } else {
      // A name only NSS sources a static daemon can't load know (util/nss.hpp).
      bool found = false;
      for (const std::string& addr : sup::nss::host_addresses_elsewhere(cfg.host)) {
        error_code bad;
        auto ip = asio::ip::make_address(addr, bad);
        if (bad) continue;
        ep = asio::ip::tcp::endpoint(ip, static_cast<unsigned short>(cfg.port));
        found = true;
        break;
      }
      if (!found)
        return sup::Error{"Cannot open an HTTP server: cannot resolve host '" + cfg.host + "': " +
                          (ec ? ec.message() : std::string("no address"))};
    }
  }
  auto acceptor = std::make_unique<asio::ip::tcp::acceptor>(state_->io);
  error_code ec;
  acceptor->open(ep.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(ep, ec);
  if (ec == asio::error::address_in_use) return sup::Error{kInUse};
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return sup::Error{"Cannot open an HTTP server: " + errno_text(ec.value())};
  state_->last_port = acceptor->local_endpoint().port();
  auto* raw = acceptor.get();
  state_->tcp_listeners.push_back(std::move(acceptor));
  state_->closed = false;
  accept_loop<asio::ip::tcp>(state_, raw, policy_of(cfg, state_->public_paths));
  return {};
}

void HttpServer::set_public_paths(std::vector<std::string> paths) { state_->public_paths = std::move(paths); }

int HttpServer::inet_port() const { return state_->last_port; }

std::size_t HttpServer::connection_count() const { return state_->sessions.size(); }

void HttpServer::set_on_idle(std::function<void()> on_idle, std::chrono::milliseconds delay) {
  state_->on_idle = std::move(on_idle);
  state_->idle_delay = delay;
}

void HttpServer::close() {
  auto& s = *state_;
  s.closed = true;
  error_code ignored;
  s.refusal_timer.cancel();
  s.idle_timer.cancel();
  s.flush_unlogged_refusals();
  for (auto& l : s.unix_listeners) {
    l.acceptor->close(ignored);
    // Unlink only the socket we created, not one a successor put there.
    struct stat st{};
    if (::stat(l.path.c_str(), &st) == 0 && st.st_dev == l.dev && st.st_ino == l.ino) ::unlink(l.path.c_str());
  }
  s.unix_listeners.clear();
  for (auto& a : s.tcp_listeners) a->close(ignored);
  s.tcp_listeners.clear();
  // close_now() erases from the map: collect first.
  std::vector<std::shared_ptr<SessionBase>> live;
  for (auto& [ptr, weak] : s.sessions)
    if (auto sp = weak.lock()) live.push_back(std::move(sp));
  for (auto& session : live) session->shutdown();
}

}  // namespace sup::http
