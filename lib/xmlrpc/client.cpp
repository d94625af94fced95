// Blocking HTTP/1.1 client for supervisord's XML-RPC endpoint and its
// streaming log endpoints. One persistent connection is kept for calls
// (like Python's xmlrpc transport); each stream_get uses its own
// connection, closed when the stream ends.
#include "xmlrpc/client.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace xmlrpc {
namespace {

constexpr std::size_t kMaxLine = 64 * 1024;
constexpr int kMaxHeaders = 200;

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  while (i < in.size()) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    std::size_t take = in.size() - i >= 3 ? 3 : in.size() - i;
    if (take > 1) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (take > 2) n |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += take > 1 ? kAlphabet[(n >> 6) & 63] : '=';
    out += take > 2 ? kAlphabet[n & 63] : '=';
    i += take;
  }
  return out;
}

// Owns one socket and a read buffer.
class Connection {
 public:
  Connection() = default;
  ~Connection() { close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool open() const { return fd_ >= 0; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buf_.clear();
    pos_ = 0;
  }
  void adopt(int fd) {
    close();
    fd_ = fd;
  }
  int fd() const { return fd_; }

  // Buffered bytes not yet consumed.
  std::string_view pending() const { return std::string_view(buf_).substr(pos_); }
  void consume(std::size_t n) {
    pos_ += n;
    if (pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    }
  }
  // Appends whatever the socket has. Returns >0 bytes read, 0 on EOF,
  // -1 on error (errno set; EINTR is returned to the caller).
  ssize_t fill() {
    if (pos_ > 0 && pos_ > buf_.size() / 2) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n > 0) buf_.append(tmp, static_cast<std::size_t>(n));
    return n;
  }
  bool ever_received = false;  // set by Impl::fill when bytes arrive

 private:
  int fd_ = -1;
  std::string buf_;
  std::size_t pos_ = 0;
};

struct ResponseHead {
  int status = 0;
  std::string reason;
  bool http10 = false;
  bool chunked = false;
  bool close = false;
  bool keep_alive_header = false;
  long long content_length = -1;
};

}  // namespace

struct Client::Impl {
  std::string url;
  bool is_unix = false;
  std::string path;         // unix
  std::string host, port;   // inet
  std::string host_header;
  std::string auth_header;  // "Basic ..." or empty
  std::string url_error;    // set when the URL could not be parsed
  std::function<bool()> interrupted;
  Connection conn;

  bool fail(TransportError* err, TransportError::Kind kind, std::string message, int e = 0,
            int status = 0) {
    if (err) {
      err->kind = kind;
      err->err = e;
      err->http_status = status;
      err->message = std::move(message);
    }
    return false;
  }

  bool fail_errno(TransportError* err, int e, const char* what) {
    if (e == EINTR) return fail(err, TransportError::Kind::Interrupted, "interrupted", e);
    return fail(err, TransportError::Kind::Other, url + ": " + what + ": " + std::strerror(e), e);
  }

  // True when an EINTR should abort the operation.
  bool should_abort() const { return interrupted && interrupted(); }

  void parse_url() {
    constexpr std::string_view kUnix = "unix://";
    constexpr std::string_view kHttp = "http://";
    std::string_view u = url;
    if (u.substr(0, kUnix.size()) == kUnix) {
      is_unix = true;
      path = std::string(u.substr(kUnix.size()));
      host_header = "localhost";
      if (path.empty()) url_error = "bad server URL '" + url + "': no socket path";
      else if (path.size() >= sizeof(sockaddr_un::sun_path))
        url_error = "bad server URL '" + url + "': socket path too long";
      return;
    }
    if (u.substr(0, kHttp.size()) != kHttp) {
      url_error = "bad server URL '" + url + "': expected unix:///path or http://host:port";
      return;
    }
    std::string_view rest = u.substr(kHttp.size());
    if (auto slash = rest.find('/'); slash != std::string_view::npos) rest = rest.substr(0, slash);
    if (auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
    std::string_view h = rest, p = "80";
    if (!rest.empty() && rest.front() == '[') {  // [v6]:port
      auto close = rest.find(']');
      if (close == std::string_view::npos) {
        url_error = "bad server URL '" + url + "': unterminated '['";
        return;
      }
      h = rest.substr(1, close - 1);
      std::string_view after = rest.substr(close + 1);
      if (!after.empty() && after.front() == ':') p = after.substr(1);
    } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
      h = rest.substr(0, colon);
      p = rest.substr(colon + 1);
    }
    if (h.empty() || p.empty() || p.find_first_not_of("0123456789") != std::string_view::npos) {
      url_error = "bad server URL '" + url + "': expected http://host:port";
      return;
    }
    host = std::string(h);
    port = std::string(p);
    host_header = std::string(rest);
  }

  // Waits for a non-blocking-style connect interrupted by a signal.
  bool finish_interrupted_connect(int fd, int* e) {
    for (;;) {
      pollfd pfd{fd, POLLOUT, 0};
      int r = ::poll(&pfd, 1, -1);
      if (r < 0 && errno == EINTR) {
        if (should_abort()) {
          *e = EINTR;
          return false;
        }
        continue;
      }
      if (r < 0) {
        *e = errno;
        return false;
      }
      int so = 0;
      socklen_t len = sizeof so;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &len);
      *e = so;
      return so == 0;
    }
  }

  bool connect_addr(int fd, const sockaddr* sa, socklen_t len, int* e) {
    if (::connect(fd, sa, len) == 0) return true;
    if (errno == EINTR) {
      if (should_abort()) {
        *e = EINTR;
        return false;
      }
      return finish_interrupted_connect(fd, e);
    }
    *e = errno;
    return false;
  }

  // Opens a new socket to the server into *c.
  bool connect_to(Connection* c, TransportError* err) {
    if (!url_error.empty()) return fail(err, TransportError::Kind::Other, url_error);
    if (is_unix) {
      int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) return fail_errno(err, errno, "socket");
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      std::memcpy(sa.sun_path, path.data(), path.size());
      int e = 0;
      if (!connect_addr(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa, &e)) {
        ::close(fd);
        return connect_error(err, e);
      }
      c->adopt(fd);
      return true;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int g = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
    if (g != 0)
      return fail(err, TransportError::Kind::Other,
                  url + ": cannot resolve '" + host + "': " + ::gai_strerror(g));
    int last = ECONNREFUSED;
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
      int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0) {
        last = errno;
        continue;
      }
      int e = 0;
      if (connect_addr(fd, ai->ai_addr, ai->ai_addrlen, &e)) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::freeaddrinfo(res);
        c->adopt(fd);
        return true;
      }
      ::close(fd);
      last = e;
      if (e == EINTR) break;
    }
    ::freeaddrinfo(res);
    return connect_error(err, last);
  }

  bool connect_error(TransportError* err, int e) {
    if (e == ENOENT) return fail(err, TransportError::Kind::NoSuchFile, url + " no such file", e);
    if (e == ECONNREFUSED) return fail(err, TransportError::Kind::Refused, url + " refused connection", e);
    return fail_errno(err, e, "connect");
  }

  std::string request_head(const char* method, const std::string& target) const {
    std::string h = std::string(method) + " " + target + " HTTP/1.1\r\nHost: " + host_header +
                    "\r\nUser-Agent: supervisor-cpp\r\nAccept-Encoding: identity\r\n";
    if (!auth_header.empty()) h += "Authorization: " + auth_header + "\r\n";
    return h;
  }

  // Sends everything; false with errno saved in *e.
  bool send_all(Connection* c, std::string_view data, int* e) {
    while (!data.empty()) {
      ssize_t n = ::send(c->fd(), data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR && !should_abort()) continue;
        *e = errno;
        return false;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads more bytes. Returns 1 on data, 0 on EOF, -1 on error (*e set).
  int fill(Connection* c, int* e) {
    for (;;) {
      ssize_t n = c->fill();
      if (n > 0) {
        c->ever_received = true;
        return 1;
      }
      if (n == 0) return 0;
      if (errno == EINTR && !should_abort()) continue;
      *e = errno;
      return -1;
    }
  }

  // Reads one line without its CRLF. Returns 1, 0 on EOF before a full
  // line, -1 on error or an over-long line (*e = EMSGSIZE).
  int read_line(Connection* c, std::string* line, int* e) {
    for (;;) {
      std::string_view p = c->pending();
      auto nl = p.find('\n');
      if (nl != std::string_view::npos) {
        std::string_view l = p.substr(0, nl);
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        *line = std::string(l);
        c->consume(nl + 1);
        return 1;
      }
      if (p.size() > kMaxLine) {
        *e = EMSGSIZE;
        return -1;
      }
      int r = fill(c, e);
      if (r <= 0) return r;
    }
  }

  // Reads the status line and headers. `nothing` is set when the server
  // closed before sending a single byte (a stale keep-alive connection).
  bool read_head(Connection* c, ResponseHead* head, TransportError* err, bool* nothing) {
    *nothing = false;
    std::string line;
    int e = 0;
    c->ever_received = false;
    int r = read_line(c, &line, &e);
    if (r <= 0 && !c->ever_received && c->pending().empty()) {
      *nothing = true;
      if (r == 0) return fail(err, TransportError::Kind::Other, url + ": connection closed by server");
      return fail_errno(err, e, "recv");
    }
    if (r == 0) return fail(err, TransportError::Kind::Protocol, url + ": connection closed in response head");
    if (r < 0) {
      if (e == EMSGSIZE) return fail(err, TransportError::Kind::Protocol, url + ": response line too long");
      return fail_errno(err, e, "recv");
    }
    // "HTTP/1.1 200 OK"
    if (line.compare(0, 5, "HTTP/") != 0 || line.size() < 12 || line[8] != ' ')
      return fail(err, TransportError::Kind::Protocol, url + ": malformed status line '" + line + "'");
    head->http10 = line.compare(0, 8, "HTTP/1.0") == 0;
    std::string code = line.substr(9, 3);
    if (code.find_first_not_of("0123456789") != std::string::npos)
      return fail(err, TransportError::Kind::Protocol, url + ": malformed status line '" + line + "'");
    head->status = std::stoi(code);
    head->reason = line.size() > 13 ? line.substr(13) : std::string();
    for (int count = 0;; ++count) {
      r = read_line(c, &line, &e);
      if (r == 0) return fail(err, TransportError::Kind::Protocol, url + ": connection closed in response head");
      if (r < 0) {
        if (e == EMSGSIZE) return fail(err, TransportError::Kind::Protocol, url + ": response header too long");
        return fail_errno(err, e, "recv");
      }
      if (line.empty()) break;
      if (count > kMaxHeaders) return fail(err, TransportError::Kind::Protocol, url + ": too many response headers");
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = to_lower(trim(std::string_view(line).substr(0, colon)));
      std::string value = to_lower(trim(std::string_view(line).substr(colon + 1)));
      if (name == "content-length") {
        if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos || value.size() > 15)
          return fail(err, TransportError::Kind::Protocol, url + ": bad Content-Length '" + value + "'");
        head->content_length = std::stoll(value);
      } else if (name == "transfer-encoding") {
        head->chunked = value.find("chunked") != std::string::npos;
      } else if (name == "connection") {
        if (value.find("close") != std::string::npos) head->close = true;
        if (value.find("keep-alive") != std::string::npos) head->keep_alive_header = true;
      }
    }
    if (head->http10 && !head->keep_alive_header) head->close = true;
    return true;
  }

  // Streams a response body to sink. Returns false on transport errors;
  // *stopped is set when sink asked to stop (the connection is then unusable).
  bool read_body(Connection* c, const ResponseHead& head, const std::function<bool(std::string_view)>& sink,
                 TransportError* err, bool* stopped) {
    *stopped = false;
    int e = 0;
    auto deliver = [&](std::string_view d) {
      if (!d.empty() && !sink(d)) *stopped = true;
      return !*stopped;
    };
    if (head.chunked) {
      for (;;) {
        std::string line;
        int r = read_line(c, &line, &e);
        if (r == 0) return fail(err, TransportError::Kind::Other, url + ": connection closed in chunked body");
        if (r < 0) return fail_errno(err, e, "recv");
        std::string_view size_text = trim(std::string_view(line).substr(0, line.find(';')));
        if (size_text.empty() || size_text.size() > 15 ||
            size_text.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos)
          return fail(err, TransportError::Kind::Protocol, url + ": bad chunk size '" + line + "'");
        unsigned long long size = std::stoull(std::string(size_text), nullptr, 16);
        if (size == 0) {
          for (;;) {  // trailers up to the empty line
            r = read_line(c, &line, &e);
            if (r == 0) return fail(err, TransportError::Kind::Other, url + ": connection closed in chunked body");
            if (r < 0) return fail_errno(err, e, "recv");
            if (line.empty()) return true;
          }
        }
        while (size > 0) {
          if (c->pending().empty()) {
            r = fill(c, &e);
            if (r == 0) return fail(err, TransportError::Kind::Other, url + ": connection closed in chunked body");
            if (r < 0) return fail_errno(err, e, "recv");
          }
          std::string_view p = c->pending();
          std::size_t take = p.size() < size ? p.size() : static_cast<std::size_t>(size);
          std::string piece(p.substr(0, take));
          c->consume(take);
          size -= take;
          if (!deliver(piece)) return true;
        }
        r = read_line(c, &line, &e);  // CRLF after the chunk data
        if (r == 0) return fail(err, TransportError::Kind::Other, url + ": connection closed in chunked body");
        if (r < 0) return fail_errno(err, e, "recv");
        if (!line.empty()) return fail(err, TransportError::Kind::Protocol, url + ": missing CRLF after chunk");
      }
    }
    if (head.content_length >= 0) {
      unsigned long long left = static_cast<unsigned long long>(head.content_length);
      while (left > 0) {
        if (c->pending().empty()) {
          int r = fill(c, &e);
          if (r == 0) return fail(err, TransportError::Kind::Other, url + ": connection closed in response body");
          if (r < 0) return fail_errno(err, e, "recv");
        }
        std::string_view p = c->pending();
        std::size_t take = p.size() < left ? p.size() : static_cast<std::size_t>(left);
        bool more = deliver(p.substr(0, take));  // a view: the buffer is not touched until consume
        c->consume(take);
        left -= take;
        if (!more) return true;
      }
      return true;
    }
    // No length: the body runs to the end of the connection.
    for (;;) {
      std::string piece(c->pending());
      c->consume(piece.size());
      if (!deliver(piece)) return true;
      int r = fill(c, &e);
      if (r == 0) return true;
      if (r < 0) return fail_errno(err, e, "recv");
    }
  }

  bool status_error(const ResponseHead& head, TransportError* err) {
    if (head.status == 401)
      return fail(err, TransportError::Kind::AuthRequired, "Server requires authentication", 0, 401);
    return fail(err, TransportError::Kind::Protocol,
                url + ": HTTP " + std::to_string(head.status) + (head.reason.empty() ? "" : " " + head.reason), 0,
                head.status);
  }
};

Client::Client(std::string url, std::string username, std::string password)
    : url_(std::move(url)), impl_(std::make_unique<Impl>()) {
  impl_->url = url_;
  impl_->parse_url();
  if (!username.empty()) impl_->auth_header = "Basic " + base64(username + ":" + password);
}

Client::~Client() = default;

void Client::set_interrupt_check(std::function<bool()> interrupted) { impl_->interrupted = std::move(interrupted); }

bool Client::call(const std::string& method, const Array& params, Response* out, TransportError* err) {
  Impl& im = *impl_;
  std::string body = encode_call(method, params);
  std::string request = im.request_head("POST", "/RPC2") + "Content-Type: text/xml\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body;
  // A kept-alive connection may have been closed by the server while idle;
  // that shows up as a failed send or an EOF before any response byte, and
  // the request is then retried once on a fresh connection.
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = im.conn.open();
    if (!reused && !im.connect_to(&im.conn, err)) return false;
    int e = 0;
    if (!im.send_all(&im.conn, request, &e)) {
      im.conn.close();
      if (reused && e != EINTR) continue;
      return im.fail_errno(err, e, "send");
    }
    ResponseHead head;
    bool nothing = false;
    if (!im.read_head(&im.conn, &head, err, &nothing)) {
      im.conn.close();
      if (reused && nothing && !(err && err->kind == TransportError::Kind::Interrupted)) continue;
      return false;
    }
    std::string response;
    if (head.content_length > 0 && head.content_length < (1LL << 30))
      response.reserve(static_cast<std::size_t>(head.content_length));
    bool stopped = false;
    if (!im.read_body(&im.conn, head, [&](std::string_view d) {
          response.append(d);
          return true;
        }, err, &stopped)) {
      im.conn.close();
      return false;
    }
    if (head.close || (!head.chunked && head.content_length < 0)) im.conn.close();
    if (head.status != 200) {
      im.conn.close();
      return im.status_error(head, err);
    }
    auto decoded = decode_response_in_place(response);
    if (!decoded)
      return im.fail(err, TransportError::Kind::Protocol, url_ + ": bad XML-RPC response: " + decoded.error(), 0,
                     head.status);
    *out = std::move(decoded).value();
    return true;
  }
  return im.fail(err, TransportError::Kind::Other, url_ + ": connection closed by server");
}

bool Client::stream_get(const std::string& path, const std::function<bool(std::string_view)>& on_data,
                        TransportError* err) {
  Impl& im = *impl_;
  Connection conn;
  if (!im.connect_to(&conn, err)) return false;
  std::string request = im.request_head("GET", path) + "\r\n";
  int e = 0;
  if (!im.send_all(&conn, request, &e)) return im.fail_errno(err, e, "send");
  ResponseHead head;
  bool nothing = false;
  if (!im.read_head(&conn, &head, err, &nothing)) return false;
  if (head.status != 200) return im.status_error(head, err);
  bool stopped = false;
  return im.read_body(&conn, head, on_data, err, &stopped);
}

}  // namespace xmlrpc
