// Bits of response text the server writes itself.
#pragma once

#include <cstdint>
#include <string_view>

#include "wsgi/output_buffer.hpp"

namespace gevent::pywsgi::detail {

// "Bad Request" for 400, and the like for every status the server itself sends.
std::string_view reason_phrase(int status);

// "Date: Tue, 24 Nov 2026 06:40:12 GMT\r\n", formatted once a second per thread.
std::string_view date_line();

// "2026-11-24 07:40:12", the local time, formatted once a second per thread (the access log's).
std::string_view local_time_text();

void append_decimal(OutputBuffer& out, std::uint64_t n);
// `seconds` with six decimals: "0.000123".
void append_seconds(OutputBuffer& out, double seconds);
void append_hex(OutputBuffer& out, std::uint64_t n);

// A whole response from the server itself, which closes the connection: `status` with
// `message` as its text/plain body; when `with_body` is false (an answer to HEAD), only the
// body's Content-Length. `server_line` is "Server: ...\r\n". Returns the body bytes appended.
std::size_t append_error_response(OutputBuffer& out, int status, std::string_view message,
                                  std::string_view server_line, bool with_body);

}  // namespace gevent::pywsgi::detail
