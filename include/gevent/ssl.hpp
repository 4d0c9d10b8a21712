// gevent::ssl: TLS over cooperative sockets with OpenSSL (gevent.ssl / Python's ssl).
//
//   // client: the server's certificate and name are checked, as create_default_context()
//   auto ctx = gevent::ssl::create_default_context();
//   gevent::ssl::SSLSocket tls =
//       ctx.wrap_socket(gevent::create_connection("example.org", 443, 10s), false, "example.org");
//   tls.sendall("GET / HTTP/1.0\r\n\r\n");
//
//   // server
//   gevent::ssl::SSLContext server_ctx{gevent::ssl::PROTOCOL_TLS_SERVER};
//   server_ctx.load_cert_chain("cert.pem", "key.pem");
//   auto [conn, peer] = listener.accept();
//   auto tls = server_ctx.wrap_socket(std::move(conn), true);  // handshake, bounded by the timeout
//
// An SSLSocket is a gevent::socket: recv/send/sendall/makefile/sendfile on it, or on a
// gevent::socket& that refers to it, go through TLS. Every call that waits suspends only the
// calling greenlet and honours the socket timeout and any enclosing gevent::Timeout; the
// handshake as a whole is bounded by the socket timeout.
//
// Errors. Throwing forms throw SSLError (a std::system_error) with OpenSSL's error text;
// certificate verification failures throw SSLCertVerificationError. The std::error_code
// forms report:
//   * ssl_category(): an error from OpenSSL's error queue (the packed ERR code);
//   * verify_category(): a failed certificate verification (X509_V_ERR_* code; the common
//     ones are named in verify_errc), e.g. ec == verify_errc::hostname_mismatch;
//   * ssl_errc: the TLS stream ended badly (stream_truncated: EOF without close_notify);
//   * std::errc::timed_out / operation_would_block, io_errc::closed_in_another_greenlet and
//     OS errors (connection_reset, ...) as for plain sockets.
// Reaching the peer's close_notify makes recv return 0. An EOF without close_notify (a
// "ragged EOF") also returns 0 by default, as Python's suppress_ragged_eofs=True does, and
// the connection stays writable (the peer may only have shut down its sending side);
// SSLContext::set_suppress_ragged_eofs(false) makes it ssl_errc::stream_truncated instead.
// close() does not send close_notify (as Python's); unwrap() does.
//
// OpenSSL's rule for non-blocking writes holds: after a send reports timed_out or
// operation_would_block, part of the data may sit in OpenSSL's buffer; send the same data
// again (or close the connection), never different data.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "gevent/socket.hpp"

struct ssl_st;      // OpenSSL's SSL
struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace gevent::ssl {

// ---- errors ----------------------------------------------------------------------------

// Errors of the TLS stream that do not come from OpenSSL's error queue.
enum class ssl_errc {
  // The peer closed the connection without a TLS close_notify (Python's SSLEOFError:
  // "EOF occurred in violation of protocol"). In recv, only when ragged EOFs are not
  // suppressed; during a handshake, always.
  stream_truncated = 1,
  // The peer sent close_notify where data or a handshake was expected (SSLZeroReturnError).
  zero_return,
  // The SSLSocket has no TLS session (closed, unwrapped or default-constructed).
  not_wrapped,
};
const std::error_category& stream_category() noexcept;
inline std::error_code make_error_code(ssl_errc e) noexcept {
  return {static_cast<int>(e), stream_category()};
}

// OpenSSL's own errors: value is the packed code of ERR_peek_last_error(), message() is
// OpenSSL's text for it.
const std::error_category& ssl_category() noexcept;

// Certificate verification failures: value is OpenSSL's X509_V_ERR_* code, message() is
// "certificate verify failed: " and OpenSSL's reason. The common codes, by name:
enum class verify_errc {
  cert_not_yet_valid = 9,
  cert_has_expired = 10,
  depth_zero_self_signed_cert = 18,
  self_signed_cert_in_chain = 19,
  unable_to_get_issuer_cert_locally = 20,  // signed by a CA that is not trusted
  hostname_mismatch = 62,
  ip_address_mismatch = 64,
};
const std::error_category& verify_category() noexcept;
inline std::error_code make_error_code(verify_errc e) noexcept {
  return {static_cast<int>(e), verify_category()};
}

// Any TLS error (ssl.SSLError). code() is one of the error codes above.
class SSLError : public std::system_error {
 public:
  using std::system_error::system_error;
};

// The peer's certificate failed verification (ssl.SSLCertVerificationError); code() is in
// verify_category(), what() names the reason (and the host name on a mismatch).
class SSLCertVerificationError : public SSLError {
 public:
  using SSLError::SSLError;
};

// ---- settings --------------------------------------------------------------------------

// What the context is for (ssl.PROTOCOL_TLS_CLIENT / PROTOCOL_TLS_SERVER).
enum class Protocol { PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER };
using enum Protocol;

// What create_default_context() prepares for (ssl.Purpose): SERVER_AUTH makes a client
// context that authenticates servers, CLIENT_AUTH a server context.
enum class Purpose { SERVER_AUTH, CLIENT_AUTH };
using enum Purpose;

// ssl.VerifyMode. CERT_OPTIONAL: a server asks for a client certificate and verifies it if
// one is sent; on a client it is the same as CERT_REQUIRED.
enum class VerifyMode { CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED };
using enum VerifyMode;

// ssl.TLSVersion, with Python's values (the TLS wire versions).
enum class TLSVersion {
  MINIMUM_SUPPORTED = -2,
  MAXIMUM_SUPPORTED = -1,
  TLSv1 = 0x301,
  TLSv1_1 = 0x302,
  TLSv1_2 = 0x303,
  TLSv1_3 = 0x304,
};

// SSLSocket::cipher(): (name, protocol, secret bits), as Python's tuple.
struct Cipher {
  std::string name;      // "TLS_AES_256_GCM_SHA384"
  std::string protocol;  // "TLSv1.3"
  int secret_bits = 0;
};

// SSLSocket::getpeercert(). Names as Python's dict: subject and issuer as (long attribute
// name, value) pairs, e.g. {"commonName", "localhost"}; subject_alt_name as {"DNS",
// "localhost"}, {"IP Address", "127.0.0.1"}. As in Python, the fields are filled only when
// the certificate was verified; `der` (getpeercert(binary_form=True)) is always filled.
struct PeerCertificate {
  using Name = std::vector<std::pair<std::string, std::string>>;
  Name subject;
  Name issuer;
  Name subject_alt_name;
  std::string serial_number;  // hex, as Python's serialNumber
  std::string not_before;     // "Jun  1 12:00:00 2024 GMT"
  std::string not_after;
  int version = 0;  // 3 for X.509 v3
  std::string der;
  bool verified = false;
};

class SSLSocket;
class SSLContext;

namespace detail {
struct ContextImpl;
}

// ---- SSLContext ------------------------------------------------------------------------

// Settings and certificates shared by many connections (ssl.SSLContext). A handle: copies
// share one context, as Python references do, and a connection keeps its context alive.
// Configure it before wrapping sockets with it. Failures throw SSLError with OpenSSL's text.
class SSLContext {
 public:
  // Client: verify_mode CERT_REQUIRED and check_hostname on, no CA loaded (load one, or use
  // create_default_context for the system's). Server: CERT_NONE. Both: TLS 1.2 at least.
  explicit SSLContext(Protocol protocol);

  Protocol protocol() const;

  // Our certificate (chain, PEM, leaf first) and its private key (PEM; the certificate file
  // if empty). `password` decrypts an encrypted key.
  void load_cert_chain(const std::string& certfile, const std::string& keyfile = "",
                       const std::string& password = "");
  // Trusted CA certificates: a PEM file and/or an OpenSSL hashed directory.
  void load_verify_locations(const std::string& cafile, const std::string& capath = "");
  // Trusted CA certificates given as PEM text (cadata=).
  void load_verify_data(std::string_view pem);
  // The system's trusted CAs (Debian: /etc/ssl/certs). load_default_certs() is the same.
  void set_default_verify_paths();
  void load_default_certs() { set_default_verify_paths(); }

  VerifyMode verify_mode() const;
  // CERT_NONE while check_hostname is on throws std::invalid_argument (Python: ValueError).
  void set_verify_mode(VerifyMode mode);
  bool check_hostname() const;
  // Turning it on also sets verify_mode CERT_REQUIRED if it was CERT_NONE (as Python).
  void set_check_hostname(bool on);

  TLSVersion minimum_version() const;
  void set_minimum_version(TLSVersion version);
  TLSVersion maximum_version() const;
  void set_maximum_version(TLSVersion version);
  // OpenSSL cipher list for TLS 1.2 and below (TLS 1.3 suites are not affected, as in
  // Python). No usable cipher: SSLError.
  void set_ciphers(const std::string& ciphers);
  // ALPN: a client offers these; a server picks the first of its own list the client offers.
  void set_alpn_protocols(const std::vector<std::string>& protocols);

  // recv() at an EOF without close_notify: 0 (true, the default, as Python) or
  // ssl_errc::stream_truncated (false).
  bool suppress_ragged_eofs() const;
  void set_suppress_ragged_eofs(bool suppress);

  // Server side: called during the handshake with the name the client asked for by SNI
  // ("" if none). Return the context to continue with (its certificate is used), or nullptr
  // to keep this one. An exception aborts the handshake with a fatal alert and propagates
  // from the handshake call. It runs inside OpenSSL: it should not block.
  using ServernameCallback = std::function<SSLContext*(std::string_view server_name)>;
  void set_servername_callback(ServernameCallback callback);

  // Wraps a socket in TLS; `sock` is taken over. Client side: `server_hostname` is sent by
  // SNI (unless it is an IP address) and checked against the certificate when
  // check_hostname is on (then it is required). With do_handshake_on_connect the handshake
  // runs now if the socket is connected (bounded by its timeout), else in
  // SSLSocket::connect(); otherwise at the first recv/send or do_handshake(). A failed
  // handshake throws and closes the socket.
  SSLSocket wrap_socket(gevent::socket&& sock, bool server_side = false,
                        std::string server_hostname = "",
                        bool do_handshake_on_connect = true) const;

  ssl_ctx_st* native_handle() const;

 private:
  friend struct detail::ContextImpl;
  explicit SSLContext(std::shared_ptr<detail::ContextImpl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<detail::ContextImpl> impl_;
};

// ssl.create_default_context: SERVER_AUTH (a client context: CERT_REQUIRED, check_hostname)
// trusting `cafile`/`capath`, or the system's CAs when neither is given; CLIENT_AUTH a
// server context (load its certificate with load_cert_chain).
SSLContext create_default_context(Purpose purpose = SERVER_AUTH, const std::string& cafile = "",
                                  const std::string& capath = "");

// ---- SSLSocket -------------------------------------------------------------------------

// A gevent::socket wrapped in TLS (ssl.SSLSocket). It has no data of its own: the TLS
// session lives in the socket's state, so it may be used (and sliced) as a gevent::socket&.
// Methods that report on the session return empty values before the handshake.
class SSLSocket : public gevent::socket {
 public:
  SSLSocket() noexcept = default;
  SSLSocket(SSLSocket&&) noexcept = default;
  SSLSocket& operator=(SSLSocket&&) noexcept = default;

  // socket::connect, then the handshake if wrap_socket asked for it on connect.
  void connect(const address& peer);
  void connect(const address& peer, std::error_code& ec);

  // Runs (or finishes) the TLS handshake. The socket timeout bounds the whole handshake.
  // Does nothing if it is done already.
  void do_handshake();
  void do_handshake(std::error_code& ec);

  // Sends close_notify, waits for the peer's, and returns the plain socket (this one is
  // left empty). Bounded by the socket timeout. On failure the TLS session is kept.
  gevent::socket unwrap();
  gevent::socket unwrap(std::error_code& ec);

  // "TLSv1.3", ...; nullopt before the handshake.
  std::optional<std::string> version() const;
  std::optional<Cipher> cipher() const;
  std::optional<std::string> selected_alpn_protocol() const;
  // The peer's certificate; nullopt if it sent none (or before the handshake).
  std::optional<PeerCertificate> getpeercert() const;
  // Client: the name given to wrap_socket. Server: the name the client sent by SNI (Python
  // gives None on the server side; the SNI name is more useful).
  std::string server_hostname() const;
  bool server_side() const;
  bool handshake_done() const;
  // Decrypted bytes buffered in OpenSSL, readable without waiting.
  std::size_t pending() const;
  // The context in use: after a servername callback switched it, the new one.
  std::optional<SSLContext> context() const;

  ssl_st* native_handle() const;

 private:
  friend class SSLContext;
  explicit SSLSocket(gevent::socket&& plain) noexcept : gevent::socket(std::move(plain)) {}
};

// What a server does with each accepted connection: wraps it server-side and runs the
// handshake, bounded by the socket's timeout. On failure ec is set and the connection closed.
SSLSocket wrap_server(gevent::socket&& accepted, const SSLContext& context, std::error_code& ec);

}  // namespace gevent::ssl

template <>
struct std::is_error_code_enum<gevent::ssl::ssl_errc> : std::true_type {};
template <>
struct std::is_error_code_enum<gevent::ssl::verify_errc> : std::true_type {};
