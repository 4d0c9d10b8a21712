// The WSGI application interface in C++ (gevent.pywsgi's side of PEP 3333).
//
//   gevent::pywsgi::Body hello(gevent::pywsgi::Environ& env,
//                              gevent::pywsgi::StartResponse& start_response) {
//     if (env["PATH_INFO"] != "/") {
//       start_response("404 Not Found", {{"Content-Type", "text/plain"}});
//       return "Not Found";
//     }
//     start_response("200 OK", {{"Content-Type", "text/plain"}});
//     return "Hello, World!";
//   }
//
// An application is any callable `Body(Environ&, StartResponse&)`. It runs in the greenlet of
// its connection, so it may block (sockets, sleep, locks) without stopping other requests.
// Middleware is an application that calls another one (see StartResponse::wrap).
//
// Lifetimes: the Environ and every string_view it returns are valid until the response is
// complete, which includes iterating a generator body; copy what must live longer.
#pragma once

#include <any>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <sys/types.h>

namespace gevent::pywsgi {

namespace detail {
class Connection;
}

// One response header as the application gives it.
struct HeaderLine {
  std::string_view name;
  std::string_view value;
};
using Headers = std::span<const HeaderLine>;

// A request body that cannot be read: malformed chunked framing, a client that stopped
// sending, or a read that timed out. status() is the answer the server sends if the
// application lets it propagate before the response started (400, 408).
class InputError : public std::runtime_error {
 public:
  InputError(int status, const std::string& what) : std::runtime_error(what), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

// wsgi.input: the request body, streamed from the connection as the application reads it.
// Content-Length and chunked bodies read alike (the chunked framing is removed, trailers are
// read and dropped); every read returns 0 / "" at the end of the body, never blocks past it,
// and never reads into the next pipelined request. The first read of a request that sent
// `Expect: 100-continue` sends the `100 Continue` the client waits for. Errors: InputError.
class Input {
 public:
  // Reads up to buf.size() bytes; 0 only at the end of the body.
  std::size_t read(std::span<char> buf);
  // Reads until `size` bytes or the end of the body.
  std::string read(std::size_t size = std::string::npos);
  // Reads a line, '\n' included, of at most `limit` bytes (a longer line comes in pieces).
  std::string readline(std::size_t limit = std::string::npos);
  std::vector<std::string> readlines();
  // Whether the whole body has been read.
  bool at_end() const;

  // Iterates over the lines of the body: for (const std::string& line : env.input()) ...
  class LineIterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = std::string;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::string*;
    using reference = const std::string&;
    LineIterator() = default;
    explicit LineIterator(Input& input) : input_(&input) { ++*this; }
    reference operator*() const { return line_; }
    LineIterator& operator++();
    void operator++(int) { ++*this; }
    bool operator==(const LineIterator& other) const { return input_ == other.input_; }

   private:
    Input* input_ = nullptr;
    std::string line_;
  };
  LineIterator begin() { return LineIterator(*this); }
  LineIterator end() { return {}; }

 private:
  friend class detail::Connection;
  friend class Environ;
  explicit Input(detail::Connection& connection) : connection_(connection) {}
  detail::Connection& connection_;
};

// The WSGI environ: the CGI variables of the request, its headers as HTTP_* keys, and keys a
// middleware adds. Values are text views; `wsgi.input` is input().
//
// Keys: REQUEST_METHOD, SCRIPT_NAME (""), PATH_INFO (percent-decoded), QUERY_STRING (raw),
// CONTENT_TYPE and CONTENT_LENGTH (only when the request has them), SERVER_NAME, SERVER_PORT,
// SERVER_PROTOCOL, REMOTE_ADDR, REMOTE_PORT, REQUEST_URI (the target as sent),
// wsgi.url_scheme ("http" or "https"), wsgi.input_terminated ("1": input() ends at the end of
// the body), wsgi.version ("1.0"), wsgi.multithread ("1" when the server shares its port through
// reuse_port, as ServerThreads' servers do, so other threads may run the same application at
// once; else "0": a server that shares a listener some other way needs a middleware's set()),
// wsgi.multiprocess and wsgi.run_once ("0"), SERVER_SOFTWARE, and HTTP_<NAME> for every other
// request header (name upper-cased, '-' as '_'; repeated headers joined with ","). Like gevent and
// nginx, headers whose name holds '_' are left out, so that no client can pose as a header set by a
// proxy. wsgi.errors is errors().
class Environ {
 public:
  // The value of `key`, if the request has it.
  std::optional<std::string_view> get(std::string_view key) const;
  // The value of `key`, or "" when absent.
  std::string_view operator[](std::string_view key) const { return get(key).value_or(""); }
  bool contains(std::string_view key) const { return get(key).has_value(); }
  // Adds or replaces a text key (a middleware's, or a CGI key it rewrites, as a proxy fix
  // rewrites REMOTE_ADDR).
  void set(std::string key, std::string value);
  // Calls f(key, value) for every text key.
  void for_each(const std::function<void(std::string_view, std::string_view)>& f) const;

  // Keys holding objects rather than text, for middleware (a session, a database handle).
  void set_object(std::string key, std::any value) { objects_[std::move(key)] = std::move(value); }
  template <class T>
  T* object(std::string_view key) {
    auto it = objects_.find(key);
    return it == objects_.end() ? nullptr : std::any_cast<T>(&it->second);
  }

  Input& input() { return input_; }
  // wsgi.errors: the server's error log (ServerOptions::error_log; shared by every request,
  // and by every thread when servers share it), or, when there is none, a stream of this
  // request's own that takes everything and keeps nothing.
  std::ostream& errors() const;

  // The common keys, without the lookup.
  std::string_view method() const;
  std::string_view path_info() const;
  std::string_view query_string() const;
  // A request header by its HTTP name, case-insensitively ("User-Agent"); the first one sent.
  std::optional<std::string_view> header(std::string_view name) const;

 private:
  friend class detail::Connection;
  explicit Environ(detail::Connection& connection) : connection_(connection), input_(connection) {}
  std::optional<std::string_view> override_of(std::string_view key) const;

  detail::Connection& connection_;
  Input input_;
  std::vector<std::pair<std::string, std::string>> overrides_;
  std::map<std::string, std::any, std::less<>> objects_;
  mutable std::unique_ptr<std::ostream> discarded_errors_;
};

// WSGI's write callable: sends `data` at once as part of the body (headers first, if not yet
// sent). Prefer returning the body; write() is for code that pushes.
class Write {
 public:
  virtual void operator()(std::string_view data) = 0;

 protected:
  ~Write() = default;
};

// start_response(status, headers[, exc_info]) -> write. `status` is "200 OK" (three digits,
// a space, a reason). A CR or LF in the status or a header, a header name that is not a
// token, or a Transfer-Encoding header (the server does the framing) is an application error
// (std::invalid_argument), which the server answers with a 500. Calling it twice is an error
// too, unless `exc_info` is given and the headers are not sent yet (then it replaces the first
// call; once they are sent, it rethrows exc_info), as PEP 3333 says.
class StartResponse {
 public:
  Write& operator()(std::string_view status, std::initializer_list<HeaderLine> headers,
                    std::exception_ptr exc_info = nullptr) {
    return start(status, Headers(headers.begin(), headers.size()), std::move(exc_info));
  }
  Write& operator()(std::string_view status, Headers headers,
                    std::exception_ptr exc_info = nullptr) {
    return start(status, headers, std::move(exc_info));
  }

  // A start_response that runs `f` in place of `inner`, for middleware that edits the status
  // or headers. It must be called before the application that receives it returns.
  template <class F>
  static auto wrap(StartResponse& inner, F f);

 protected:
  ~StartResponse() = default;
  virtual Write& start(std::string_view status, Headers headers, std::exception_ptr exc_info) = 0;
};

template <class F>
auto StartResponse::wrap(StartResponse& inner, F f) {
  class Wrapped final : public StartResponse {
   public:
    Wrapped(StartResponse& inner, F f) : inner_(inner), f_(std::move(f)) {}

   private:
    Write& start(std::string_view status, Headers headers, std::exception_ptr exc) override {
      return f_(inner_, status, headers, std::move(exc));
    }
    StartResponse& inner_;
    F f_;
  };
  return Wrapped(inner, std::move(f));
}

// What an application returns: the response body.
class Body {
 public:
  // Produces the next piece of a generator body; std::nullopt ends it.
  using Generator = std::function<std::optional<std::string>()>;

  Body() = default;
  Body(std::string text) : content_(std::move(text)) {}
  Body(const char* text) : content_(std::string(text)) {}
  // A list of chunks: sent with one Content-Length, as one write where it fits.
  Body(std::vector<std::string> chunks) : content_(std::move(chunks)) {}
  // Text that outlives the response (a constant): sent without a copy.
  static Body view(std::string_view text) { return Body(Content(text)); }
  // Pulled piece by piece; each piece is sent as it comes (chunked on HTTP/1.1, delimited by
  // closing the connection on HTTP/1.0), unless the headers give a Content-Length.
  static Body generator(Generator next) { return Body(Content(std::move(next))); }
  // A region of an open file, sent with sendfile(2); the Body owns `fd` and closes it.
  // count: to the end of the file. Throws std::system_error if `fd` cannot be examined.
  static Body file(int fd, off_t offset = 0, std::optional<std::size_t> count = {});
  // The whole file at `path` (std::system_error if it cannot be opened).
  static Body file(const std::string& path);

  Body(Body&& other) noexcept : content_(std::move(other.content_)) {
    other.content_ = std::monostate{};
  }
  Body& operator=(Body&& other) noexcept;
  ~Body();

  struct File {
    int fd;
    off_t offset;
    std::size_t count;
  };
  using Content = std::variant<std::monostate, std::string, std::string_view,
                               std::vector<std::string>, Generator, File>;
  Content& content() { return content_; }

 private:
  explicit Body(Content content) : content_(std::move(content)) {}
  void close_file() noexcept;
  Content content_;
};

using Application = std::function<Body(Environ&, StartResponse&)>;

}  // namespace gevent::pywsgi
