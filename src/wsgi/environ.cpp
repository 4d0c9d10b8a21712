// The environ: CGI keys computed from the parsed request head, without copies where they can
// be views into it.
#include <algorithm>
#include <memory>
#include <ostream>

#include "wsgi/connection.hpp"

namespace gevent::pywsgi {
namespace {

constexpr std::string_view kHttpPrefix = "HTTP_";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether the header `name` is the one of the key HTTP_<cgi_name>: upper case, '-' as '_'.
// A name holding '_' matches nothing (it could pose as a header a proxy sets).
bool is_cgi_name_of(std::string_view name, std::string_view cgi_name) {
  if (name.size() != cgi_name.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '_') return false;
    const char expected = c == '-' ? '_' : (c >= 'a' && c <= 'z' ? char(c - 'a' + 'A') : c);
    if (expected != cgi_name[i]) return false;
  }
  return true;
}

std::string cgi_name_of(std::string_view name) {
  std::string key(kHttpPrefix);
  for (char c : name) key += c == '-' ? '_' : (c >= 'a' && c <= 'z' ? char(c - 'a' + 'A') : c);
  return key;
}

bool is_content_header(std::string_view name) {
  return http::iequals(name, "Content-Type") || http::iequals(name, "Content-Length");
}

}  // namespace

namespace detail {

// PATH_INFO is the path with %XX decoded (as gevent's unquote does; a '%' not followed by two
// hex digits stays as it is). A path without '%' is a view into the head.
void Connection::decode_path() {
  const std::string_view path = request_.path.empty() ? "/" : request_.path;
  if (path.find('%') == std::string_view::npos) {
    path_info_ = path;
    return;
  }
  path_info_storage_.clear();
  for (std::size_t i = 0; i < path.size(); ++i) {
    const int high = path[i] == '%' && i + 2 < path.size() ? hex_value(path[i + 1]) : -1;
    const int low = high >= 0 ? hex_value(path[i + 2]) : -1;
    if (low >= 0) {
      path_info_storage_ += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      path_info_storage_ += path[i];
    }
  }
  path_info_ = path_info_storage_;
}

std::optional<std::string_view> Connection::cgi_header(std::string_view cgi_name) {
  const http::Header* first = nullptr;
  std::string* joined = nullptr;
  for (const http::Header& header : request_.headers) {
    if (!is_cgi_name_of(header.name, cgi_name) || is_content_header(header.name)) continue;
    if (!first) {
      first = &header;
      continue;
    }
    if (!joined) joined = &joined_.emplace_front(first->value);
    *joined += ',';
    *joined += header.value;
  }
  if (joined) return *joined;
  if (first) return first->value;
  return std::nullopt;
}

}  // namespace detail

std::optional<std::string_view> Environ::override_of(std::string_view key) const {
  for (auto it = overrides_.rbegin(); it != overrides_.rend(); ++it)
    if (it->first == key) return it->second;
  return std::nullopt;
}

std::optional<std::string_view> Environ::get(std::string_view key) const {
  if (!overrides_.empty())
    if (auto value = override_of(key)) return value;
  const detail::Connection& c = connection_;
  const http::Request& request = c.request();
  if (key.starts_with(kHttpPrefix)) return connection_.cgi_header(key.substr(kHttpPrefix.size()));
  if (key == "REQUEST_METHOD") return request.method;
  if (key == "PATH_INFO") return c.path_info();
  if (key == "QUERY_STRING") return request.query;
  if (key == "SCRIPT_NAME") return "";
  if (key == "CONTENT_TYPE") return header("Content-Type");
  if (key == "CONTENT_LENGTH") {
    if (c.content_length_text().empty()) return std::nullopt;
    return c.content_length_text();
  }
  if (key == "SERVER_PROTOCOL")
    return request.version == http::Version::http11 ? "HTTP/1.1" : "HTTP/1.0";
  if (key == "REMOTE_ADDR") return connection_.remote_addr();
  if (key == "REMOTE_PORT") return connection_.remote_port();
  if (key == "SERVER_NAME") return c.server().server_name;
  if (key == "SERVER_PORT") return c.server().server_port;
  if (key == "REQUEST_URI") return request.target;
  if (key == "wsgi.url_scheme") return c.server().https ? "https" : "http";
  if (key == "wsgi.input_terminated") return "1";
  if (key == "wsgi.version") return "1.0";
  if (key == "wsgi.multithread") return c.server().options.reuse_port ? "1" : "0";
  if (key == "wsgi.multiprocess" || key == "wsgi.run_once") return "0";
  if (key == "SERVER_SOFTWARE") return c.server().options.server_software;
  for (const auto& [base_key, value] : c.server().options.environ)
    if (base_key == key) return value;
  return std::nullopt;
}

void Environ::set(std::string key, std::string value) {
  overrides_.emplace_back(std::move(key), std::move(value));
}

void Environ::for_each(const std::function<void(std::string_view, std::string_view)>& f) const {
  std::vector<std::string> seen;
  auto visit = [&](std::string_view key) {
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) return;
    seen.emplace_back(key);
    if (auto value = get(key)) f(key, *value);
  };
  for (std::string_view key :
       {"REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_URI", "CONTENT_TYPE",
        "CONTENT_LENGTH", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "SERVER_SOFTWARE",
        "REMOTE_ADDR", "REMOTE_PORT", "wsgi.url_scheme", "wsgi.input_terminated", "wsgi.version",
        "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once"})
    visit(key);
  for (const http::Header& header : connection_.request().headers)
    if (!is_content_header(header.name) && header.name.find('_') == std::string_view::npos)
      visit(cgi_name_of(header.name));
  for (const auto& [key, value] : overrides_) visit(key);
  for (const auto& [key, value] : connection_.server().options.environ) visit(key);
}

namespace {

// A stream that takes everything, keeps nothing and stays good(), as WSGI's errors stream
// never fails.
class DiscardingStream final : public std::ostream {
 public:
  DiscardingStream() : std::ostream(&buffer_) {}

 private:
  struct Buffer final : std::streambuf {
    int_type overflow(int_type c) override { return traits_type::not_eof(c); }
    std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
  };
  Buffer buffer_;
};

}  // namespace

std::ostream& Environ::errors() const {
  if (std::ostream* log = connection_.server().options.error_log) return *log;
  if (!discarded_errors_) discarded_errors_ = std::make_unique<DiscardingStream>();
  return *discarded_errors_;
}

std::string_view Environ::method() const { return connection_.request().method; }
std::string_view Environ::path_info() const {
  if (!overrides_.empty())
    if (auto value = override_of("PATH_INFO")) return *value;
  return connection_.path_info();
}
std::string_view Environ::query_string() const { return connection_.request().query; }

std::optional<std::string_view> Environ::header(std::string_view name) const {
  for (const http::Header& h : connection_.request().headers)
    if (http::iequals(h.name, name)) return h.value;
  return std::nullopt;
}

}  // namespace gevent::pywsgi
