// The HTTP/1.1 side of a WSGIServer's worker greenlet: given a connection (a ConnectionRecord,
// connections.hpp), read a request head, run the application, send its response, again
// until the connection would block between requests (then it is parked) or ends.
#pragma once

#include <chrono>
#include <cstdint>
#include <forward_list>
#include <optional>
#include <string>
#include <string_view>

#include "fd/watchdog.hpp"
#include "gevent/address.hpp"
#include "gevent/pywsgi/application.hpp"
#include "gevent/pywsgi/http_chunked.hpp"
#include "gevent/pywsgi/http_parser.hpp"
#include "gevent/pywsgi/server.hpp"
#include "gevent/socket.hpp"
#include "wsgi/access_log.hpp"
#include "wsgi/connections.hpp"
#include "wsgi/output_buffer.hpp"
#include "wsgi/read_buffer.hpp"

namespace gevent::pywsgi::detail {

using gevent::detail::coarse_now;
using gevent::detail::Watchdog;

// What every connection of one server shares.
struct ServerContext {
  const Application& application;
  const WSGIServerOptions& options;
  std::string server_name;
  std::string server_port;
  std::string server_line;  // "Server: <server_software>\r\n"
  bool https;
  std::function<void(std::string_view)> log_error;
  std::unique_ptr<AccessLog> access_log;
  bool stopping = false;  // the server stops: connections close after the request in progress
};

// Thrown when the client reset the connection or stopped reading: the connection just ends.
struct ClientGone {};

// body_left_ of a chunked body whose end is not read yet.
inline constexpr std::uint64_t kUnknownLength = UINT64_MAX;

class Connection final : public Write {
 public:
  explicit Connection(const ServerContext& server);
  // Serves the record's requests until it would block between two (true: park it) or is
  // to be closed (false; its last answers are sent, and it lingers if the client is still
  // sending). A kill passes through; the record is then to be closed.
  bool serve(ConnectionRecord& record);

  // For Environ and Input.
  const http::Request& request() const { return request_; }
  const ServerContext& server() const { return server_; }
  std::string_view path_info() const { return path_info_; }
  std::string_view remote_addr() {
    learn_remote();
    return remote_addr_;
  }
  std::string_view remote_port() {
    learn_remote();
    return remote_port_;
  }
  std::string_view content_length_text() const { return content_length_text_; }
  // The value of the HTTP_<cgi_name> key: the headers of that name, joined with ",".
  std::optional<std::string_view> cgi_header(std::string_view cgi_name);
  // The body bytes ready to be read (receiving or decoding more if none are); empty only at
  // the end of the body. Then body_consume(n) of them.
  std::string_view body_available();
  void body_consume(std::size_t n);
  std::size_t read_body(std::span<char> buf);
  bool body_done() const { return body_left_ == 0; }

  // For the StartResponse of the request.
  Write& start_response(std::string_view status, Headers headers, std::exception_ptr exc_info);

 private:
  enum class Framing : std::uint8_t { none, length, chunked, close };
  class Starter;

  enum class Next : std::uint8_t { request, park, close };

  // connection.cpp: the request loop.
  void attach(ConnectionRecord& record);
  void learn_remote();
  Next read_head();
  std::size_t receive(MaybeDuration timeout, std::error_code& ec);
  std::size_t receive_now(std::error_code& ec);
  bool make_room_for_head();
  void prepare_request(std::size_t head_size);
  void serve_request();
  void fail_request(std::exception_ptr error);
  void finish_request();
  void refuse(int status, std::string_view reason);
  void respond_with_error(int status, std::string_view message);
  // Not inlined, as discard_body is not: each one's 16 KiB scratch buffer would otherwise sit
  // in the middle of the hot frame of every connection's stack, a page apart from the rest.
  [[gnu::noinline]] void close_gracefully();

  // environ.cpp
  void decode_path();

  // connection_body.cpp: the request body.
  void enforce_body_limit(std::uint64_t size);
  void decode_next_chunk();
  void receive_body_bytes();
  [[noreturn]] void throw_body_read_failed(std::error_code ec);
  void send_continue();
  [[gnu::noinline]] void discard_body();

  // connection_response.cpp: the response.
  void run_application();
  void reset_response();
  void parse_status(std::string_view status);
  void add_header(const HeaderLine& header);
  void note_server_header(const HeaderLine& header);
  void send_body(Body& body);
  void send_text(std::string_view text);
  void send_chunks(std::vector<std::string>& chunks);
  void send_generator(Body::Generator& next);
  void send_file(Body::File& file);
  std::size_t sendfile_in_pieces(const Body::File& file, std::error_code& ec);
  Framing streaming_framing();
  void begin_body(Framing framing, std::optional<std::uint64_t> length);
  void write_body_bytes(std::string_view data);
  void end_body();
  void operator()(std::string_view data) override;  // the write callable
  void flush();
  void send_now(std::string_view data);
  bool body_allowed() const;
  void log_access();

  // Served 1000 connections at a time, a request finds little of its connection in the
  // cache: what every request touches is kept together here, the rest after it.
  gevent::socket* sock_ = nullptr;
  const ServerContext& server_;
  ReadBuffer in_;
  OutputBuffer out_;   // answers not yet sent: pipelined ones go out together
  OutputBuffer head_;  // status line and the application's headers
  Watchdog watchdog_{-1};
  ConnectionRecord* record_ = nullptr;

  // The current request.
  bool head_request_ = false;  // HEAD: the response carries no body
  bool continue_sent_ = false;
  http::Request request_;
  std::string_view request_line_;
  std::string_view path_info_;
  std::string_view content_length_text_;
  std::string_view pending_;     // decoded body bytes in in_ not yet given to the application
  std::uint64_t body_left_ = 0;  // UINT64_MAX: chunked and not done
  std::forward_list<std::string> joined_;  // HTTP_* values of repeated headers, joined

  // The current response.
  bool started_response_ = false;
  bool headers_sent_ = false;
  bool close_after_ = false;
  bool app_date_ = false;  // the application set Date, Server or Connection itself
  bool app_server_ = false;
  bool app_connection_ = false;
  Framing framing_ = Framing::none;
  int status_code_ = 0;
  std::optional<std::uint64_t> declared_length_;
  std::uint64_t body_sent_ = 0;

  // Used by some requests only.
  bool remote_known_ = false;
  std::string remote_addr_;
  std::string remote_port_;
  std::string path_info_storage_;
  char content_length_buf_[24];
  http::ChunkedDecoder chunked_;
  std::chrono::steady_clock::time_point started_;
  http::Header fields_[http::kMaxFields];  // only the first few are used
};

}  // namespace gevent::pywsgi::detail
