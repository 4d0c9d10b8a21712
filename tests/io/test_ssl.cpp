// gevent::ssl over real loopback connections: our client and server against each other and
// against Python's ssl module and openssl s_client (tests/support/tls_peer.py).
#include <gevent/gevent.hpp>
#include <gevent/socket.hpp>
#include <gevent/socket_file.hpp>
#include <gevent/ssl.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/harness.hpp"
#include "support/tls_certs.hpp"

using namespace std::chrono_literals;
using gevent::testing::ChildProcess;
using gevent::testing::HubTest;
using gevent::testing::tls_certs;
namespace ssl = gevent::ssl;

namespace {

class SslTest : public HubTest {};

const std::string kPeerScript =
    (std::filesystem::path(__FILE__).parent_path().parent_path() / "support" / "tls_peer.py")
        .string();

ssl::SSLContext server_context(const std::string& cert = tls_certs().server,
                               const std::string& key = tls_certs().server_key) {
  ssl::SSLContext context(ssl::PROTOCOL_TLS_SERVER);
  context.load_cert_chain(cert, key);
  return context;
}

ssl::SSLContext client_context() {
  return ssl::create_default_context(ssl::SERVER_AUTH, tls_certs().ca);
}

gevent::socket listener() { return gevent::listen_tcp(gevent::address::ip("127.0.0.1", 0)); }

// A client and a server SSLSocket connected over loopback, handshakes done.
struct TlsPair {
  ssl::SSLSocket client;
  ssl::SSLSocket server;
};

TlsPair tls_pair(const ssl::SSLContext& server_ctx, const ssl::SSLContext& client_ctx,
                 const std::string& hostname = "localhost") {
  auto server = listener();
  auto accepting = gevent::spawn([&] {
    auto [conn, peer] = server.accept();
    return server_ctx.wrap_socket(std::move(conn), true);
  });
  auto client =
      client_ctx.wrap_socket(gevent::create_connection(server.getsockname(), 5s), false, hostname);
  return {std::move(client), std::move(accepting).get()};
}

// Starts tls_peer.py with `args`; for a server, returns its port.
std::uint16_t peer_port(ChildProcess& peer) {
  const std::string line = peer.read_line();
  EXPECT_EQ(line.rfind("port=", 0), 0u) << line;
  return static_cast<std::uint16_t>(std::stoi(line.substr(5)));
}

std::vector<std::string> python_server(std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {
      "python3", kPeerScript,           "server", "--cert", tls_certs().server,
      "--key",   tls_certs().server_key};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

// Reads exactly n bytes (fewer only at end of stream).
std::string read_exactly(gevent::socket& sock, std::size_t n) {
  std::string got;
  char buf[4096];
  while (got.size() < n) {
    const std::size_t k = sock.recv({buf, std::min(sizeof(buf), n - got.size())});
    if (k == 0) break;
    got.append(buf, k);
  }
  return got;
}

bool has_pair(const ssl::PeerCertificate::Name& name, const std::string& key,
              const std::string& value) {
  for (const auto& [k, v] : name)
    if (k == key && v == value) return true;
  return false;
}

// ---- interoperability with Python's ssl and openssl s_client ----

TEST_F(SslTest, OurClientVerifiesAndTalksToAPythonServer) {
  ChildProcess peer(python_server());
  const auto port = peer_port(peer);
  auto tls = client_context().wrap_socket(
      gevent::create_connection(gevent::address::ip("127.0.0.1", port), 5s), false, "localhost");
  auto file = tls.makefile();
  EXPECT_EQ(file.readline(), "sni=localhost alpn=None version=TLSv1.3\n");
  tls.sendall("ping\n");
  EXPECT_EQ(file.readline(), "ping\n");
  EXPECT_EQ(tls.version(), "TLSv1.3");
  ASSERT_TRUE(tls.cipher());
  EXPECT_EQ(tls.cipher()->protocol, "TLSv1.3");
  EXPECT_GE(tls.cipher()->secret_bits, 128);
  const auto cert = tls.getpeercert();
  ASSERT_TRUE(cert);
  EXPECT_TRUE(cert->verified);
  EXPECT_TRUE(has_pair(cert->subject, "commonName", "localhost"));
  EXPECT_TRUE(has_pair(cert->issuer, "commonName", "gevent-cpp test CA"));
  EXPECT_TRUE(has_pair(cert->subject_alt_name, "DNS", "localhost"));
  EXPECT_TRUE(has_pair(cert->subject_alt_name, "IP Address", "127.0.0.1"));
  EXPECT_EQ(cert->serial_number, "02");
  EXPECT_EQ(cert->version, 3);
  EXPECT_NE(cert->not_after.find("GMT"), std::string::npos);
  EXPECT_FALSE(cert->der.empty());
  EXPECT_EQ(tls.server_hostname(), "localhost");
  tls.close();
  EXPECT_EQ(peer.wait(), 0) << peer.err();
  EXPECT_NE(peer.out().find("closed"), std::string::npos) << peer.out() << peer.err();
}

TEST_F(SslTest, AnIpAddressIsCheckedAgainstTheIpSanAndSendsNoSni) {
  ChildProcess peer(python_server());
  const auto port = peer_port(peer);
  auto tls = client_context().wrap_socket(
      gevent::create_connection(gevent::address::ip("127.0.0.1", port), 5s), false, "127.0.0.1");
  auto file = tls.makefile();
  EXPECT_EQ(file.readline(), "sni=None alpn=None version=TLSv1.3\n");
  tls.close();
  EXPECT_EQ(peer.wait(), 0) << peer.err();
}

TEST_F(SslTest, APythonClientTalksToOurServerWithSniAndAlpn) {
  auto context = server_context();
  context.set_alpn_protocols({"http/1.1"});
  auto server = listener();
  ChildProcess peer({"python3", kPeerScript, "client", "--port",
                     std::to_string(server.getsockname().port()), "--ca", tls_certs().ca, "--host",
                     "localhost", "--alpn", "h2,http/1.1", "--message", "hello"});
  auto [conn, addr] = server.accept();
  conn.settimeout(5s);
  auto tls = context.wrap_socket(std::move(conn), true);
  EXPECT_EQ(tls.server_hostname(), "localhost");
  EXPECT_EQ(tls.selected_alpn_protocol(), "http/1.1");
  EXPECT_TRUE(tls.server_side());
  EXPECT_EQ(tls.getsockopt(IPPROTO_TCP, TCP_NODELAY), 1) << "small TLS records would wait 40 ms";
  char buf[1024];
  while (std::size_t n = tls.recv(buf)) tls.sendall({buf, n});
  EXPECT_EQ(peer.wait(), 0) << peer.out() << peer.err();
  EXPECT_NE(peer.out().find("version=TLSv1.3 alpn=http/1.1 echo=hello"), std::string::npos)
      << peer.out();
}

TEST_F(SslTest, OpensslSClientTalksToOurServer) {
  auto context = server_context();
  context.set_alpn_protocols({"h2"});
  auto server = listener();
  ChildProcess peer(
      {"openssl", "s_client", "-connect",
       "127.0.0.1:" + std::to_string(server.getsockname().port()), "-CAfile", tls_certs().ca,
       "-verify_return_error", "-servername", "localhost", "-alpn", "h2", "-brief", "-ign_eof"},
      "ping\n");
  auto [conn, addr] = server.accept();
  conn.settimeout(5s);
  auto tls = context.wrap_socket(std::move(conn), true);
  EXPECT_EQ(tls.server_hostname(), "localhost");
  EXPECT_EQ(tls.selected_alpn_protocol(), "h2");
  auto file = tls.makefile();
  EXPECT_EQ(file.readline(), "ping\n");
  tls.sendall("pong\n");
  std::error_code ec;
  tls.unwrap(ec);  // close_notify: s_client ends
  tls.close();
  EXPECT_EQ(peer.wait(), 0) << peer.err();
  EXPECT_NE(peer.out().find("pong"), std::string::npos) << peer.out();
  EXPECT_NE(peer.err().find("Verification: OK"), std::string::npos) << peer.err();
}

TEST_F(SslTest, UnwrapThenPlainTrafficWithAPythonServer) {
  ChildProcess peer(python_server({"--unwrap"}));
  const auto port = peer_port(peer);
  auto tls = client_context().wrap_socket(
      gevent::create_connection(gevent::address::ip("127.0.0.1", port), 5s), false, "localhost");
  auto file = tls.makefile();
  file.readline();  // greeting
  tls.sendall("secret\n");
  EXPECT_EQ(file.readline(), "secret\n");
  gevent::socket plain = tls.unwrap();
  EXPECT_FALSE(tls.is_open());
  EXPECT_TRUE(plain.is_open());
  plain.sendall("plain\n");
  char buf[16];
  std::string got;
  while (got.size() < 6) got.append(buf, plain.recv(buf));
  EXPECT_EQ(got, "plain\n");
  plain.close();
  EXPECT_EQ(peer.wait(), 0) << peer.err();
  EXPECT_NE(peer.out().find("unwrapped"), std::string::npos) << peer.out();
}

// ---- verification ----

TEST_F(SslTest, AWrongHostnameIsAVerificationError) {
  auto server = listener();
  auto serving = gevent::spawn([&, context = server_context()] {
    std::error_code ec;
    for (int i = 0; i < 2; ++i) {
      auto [conn, peer] = server.accept();
      ssl::wrap_server(std::move(conn), context, ec);
      EXPECT_TRUE(ec) << "the server's handshake should fail as the client aborts it";
    }
  });
  const auto at = server.getsockname();
  try {
    client_context().wrap_socket(gevent::create_connection(at, 5s), false, "wrong.example");
    FAIL() << "the handshake succeeded";
  } catch (const ssl::SSLCertVerificationError& e) {
    EXPECT_EQ(e.code(), ssl::verify_errc::hostname_mismatch);
    EXPECT_NE(std::string(e.what()).find("hostname mismatch"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("wrong.example"), std::string::npos) << e.what();
  }
  auto tls = client_context().wrap_socket(gevent::create_connection(at, 5s), false, "wrong.example",
                                          false);
  std::error_code ec;
  tls.do_handshake(ec);
  EXPECT_EQ(ec, ssl::verify_errc::hostname_mismatch);
  EXPECT_EQ(&ec.category(), &ssl::verify_category());
  EXPECT_NE(ec.message().find("hostname mismatch"), std::string::npos) << ec.message();
  tls.close();
  serving.join();
}

TEST_F(SslTest, AnUntrustedCaIsAVerificationErrorUnlessVerificationIsOff) {
  auto server = listener();
  auto serving = gevent::spawn([&, context = server_context()] {
    std::error_code ec;
    for (int i = 0; i < 3; ++i) {
      auto [conn, peer] = server.accept();
      auto tls = ssl::wrap_server(std::move(conn), context, ec);
      if (!ec) tls.sendall("hi");
    }
  });
  const auto at = server.getsockname();
  auto rogue = ssl::create_default_context(ssl::SERVER_AUTH, tls_certs().rogue_ca);
  std::error_code ec;
  auto tls = rogue.wrap_socket(gevent::create_connection(at, 5s), false, "localhost", false);
  tls.do_handshake(ec);
  EXPECT_EQ(ec, ssl::verify_errc::unable_to_get_issuer_cert_locally) << ec.message();

  ssl::SSLContext nothing_trusted(ssl::PROTOCOL_TLS_CLIENT);  // verifying, no CA loaded
  EXPECT_THROW(nothing_trusted.wrap_socket(gevent::create_connection(at, 5s), false, "localhost"),
               ssl::SSLCertVerificationError);

  ssl::SSLContext unverified(ssl::PROTOCOL_TLS_CLIENT);
  unverified.set_check_hostname(false);
  unverified.set_verify_mode(ssl::CERT_NONE);
  auto open = unverified.wrap_socket(gevent::create_connection(at, 5s));
  char buf[2];
  EXPECT_EQ(open.recv(buf), 2u);
  const auto cert = open.getpeercert();
  ASSERT_TRUE(cert);
  EXPECT_FALSE(cert->verified);  // as Python: no fields from an unverified certificate
  EXPECT_TRUE(cert->subject.empty());
  EXPECT_FALSE(cert->der.empty());
  serving.join();
}

TEST_F(SslTest, AServerCanRequireAClientCertificate) {
  auto context = server_context();
  context.set_verify_mode(ssl::CERT_REQUIRED);
  context.load_verify_locations(tls_certs().ca);
  auto server = listener();
  std::vector<std::error_code> results;
  std::string client_cn;
  auto serving = gevent::spawn([&] {
    for (int i = 0; i < 2; ++i) {
      auto [conn, peer] = server.accept();
      std::error_code ec;
      auto tls = ssl::wrap_server(std::move(conn), context, ec);
      results.push_back(ec);
      if (ec) continue;
      const auto cert = tls.getpeercert();
      for (const auto& [k, v] : cert->subject)
        if (k == "commonName") client_cn = v;
      tls.sendall("welcome");
    }
  });
  const auto at = server.getsockname();
  auto anonymous =
      client_context().wrap_socket(gevent::create_connection(at, 5s), false, "localhost");
  char buf[16];
  std::error_code ec;
  anonymous.recv(buf, ec);  // TLS 1.3: the server's verdict comes after the client's handshake
  EXPECT_TRUE(ec);
  auto with_cert = client_context();
  with_cert.load_cert_chain(tls_certs().client, tls_certs().client_key);
  auto known = with_cert.wrap_socket(gevent::create_connection(at, 5s), false, "localhost");
  EXPECT_EQ(known.recv(buf), 7u);
  serving.join();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0]);
  EXPECT_FALSE(results[1]) << results[1].message();
  EXPECT_EQ(client_cn, "gevent-test-client");
}

// ---- timeouts, close, concurrency ----

TEST_F(SslTest, TheHandshakeTimesOutAgainstAPeerThatNeverSpeaks) {
  auto silent = listener();  // never accepts: the kernel completes the TCP handshake alone
  auto sock = gevent::create_connection(silent.getsockname(), 5s);
  sock.settimeout(100ms);
  const auto start = std::chrono::steady_clock::now();
  try {
    client_context().wrap_socket(std::move(sock), false, "localhost");
    FAIL() << "the handshake did not time out";
  } catch (const ssl::SSLError& e) {
    EXPECT_EQ(e.code(), std::errc::timed_out) << e.what();
  }
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 90ms);
  EXPECT_LT(took, 3s);

  // No socket timeout: an enclosing gevent::Timeout still ends it.
  auto unbounded = gevent::create_connection(silent.getsockname(), 5s);
  unbounded.settimeout(std::nullopt);
  gevent::Timeout limit(50ms);
  EXPECT_THROW(client_context().wrap_socket(std::move(unbounded), false, "localhost"),
               gevent::Timeout);
}

TEST_F(SslTest, AServerHandshakeIsBoundedByTheSocketTimeout) {
  auto server = listener();
  auto mute_client = gevent::create_connection(server.getsockname(), 5s);  // sends nothing
  auto [conn, peer] = server.accept();
  conn.settimeout(50ms);
  std::error_code ec;
  auto tls = ssl::wrap_server(std::move(conn), server_context(), ec);
  EXPECT_EQ(ec, std::errc::timed_out);
  EXPECT_FALSE(tls.is_open());
}

TEST_F(SslTest, CloseWakesAGreenletInsideATlsRecvOrHandshake) {
  auto [client, server] = tls_pair(server_context(), client_context());
  auto reader = gevent::spawn([&client = client] {
    char buf[16];
    std::error_code ec;
    client.recv(buf, ec);
    return ec;
  });
  gevent::sleep(5ms);
  client.close();  // destroys the TLS session the reader is inside of
  EXPECT_EQ(reader.get(), gevent::io_errc::closed_in_another_greenlet);
  EXPECT_EQ(client.version(), std::nullopt);

  auto silent = listener();
  auto pending = client_context().wrap_socket(gevent::create_connection(silent.getsockname(), 5s),
                                              false, "localhost", false);
  auto shaker = gevent::spawn([&pending] {
    std::error_code ec;
    pending.do_handshake(ec);
    return ec;
  });
  gevent::sleep(5ms);
  pending.close();
  EXPECT_EQ(shaker.get(), gevent::io_errc::closed_in_another_greenlet);
}

TEST_F(SslTest, ManyConnectionsAtOnceWhileAnotherGreenletTicks) {
  constexpr int kConnections = 8, kRounds = 20;
  auto server = listener();
  auto context = server_context();
  gevent::Group handlers;
  auto accepting = gevent::spawn([&] {
    for (int i = 0; i < kConnections; ++i) {
      auto [conn, peer] = server.accept();
      handlers.spawn([&context, conn = std::move(conn)]() mutable {
        auto tls = context.wrap_socket(std::move(conn), true);
        char buf[65536];
        while (std::size_t n = tls.recv(buf)) tls.sendall({buf, n});
      });
    }
  });
  bool done = false;
  int ticks = 0;
  auto ticker = gevent::spawn([&] {
    while (!done) {
      gevent::sleep(1ms);
      ++ticks;
    }
  });
  std::vector<gevent::Greenlet<bool>> clients;
  for (int c = 0; c < kConnections; ++c) {
    clients.push_back(gevent::spawn([&, c] {
      auto tls = client_context().wrap_socket(gevent::create_connection(server.getsockname(), 5s),
                                              false, "localhost");
      auto file = tls.makefile();
      const std::string block(16384, static_cast<char>('a' + c));
      for (int r = 0; r < kRounds; ++r) {
        tls.sendall(block);
        if (file.read(block.size()) != block) return false;
      }
      return true;
    }));
  }
  gevent::joinall(clients);
  done = true;
  for (auto& c : clients) EXPECT_TRUE(c.get());
  accepting.join();
  handlers.join();
  ticker.join();
  EXPECT_GE(ticks, 2) << "the ticker was starved while the connections ran";
}

// ---- data transfer ----

// Code written for plain sockets works unchanged on a TLS socket.
std::string exchange(gevent::socket& sock, const std::string& message) {
  sock.sendall(message);
  return read_exactly(sock, message.size());
}

TEST_F(SslTest, LargeTransfersMakefileAndSendfileGoThroughTls) {
  auto [client, server] = tls_pair(server_context(), client_context());
  auto echo = gevent::spawn([&server = server] {
    char buf[65536];
    while (std::size_t n = server.recv(buf)) server.sendall({buf, n});
  });
  EXPECT_EQ(exchange(client, "through a gevent::socket&"), "through a gevent::socket&");

  std::string big(4 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 4096);
  auto writer = gevent::spawn([&client = client, &big] { client.sendall(big); });
  auto file = client.makefile();
  EXPECT_EQ(file.read(big.size()) == big, true);
  writer.join();

  char path[] = "/tmp/gevent-tls-sendfile-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  const std::string content(300000, 'z');
  ASSERT_EQ(::write(fd, content.data(), content.size()), ssize_t(content.size()));
  auto sender = gevent::spawn([&client = client, fd] { return client.sendfile(fd, 1000); });
  EXPECT_EQ(file.read(content.size() - 1000), content.substr(1000));
  EXPECT_EQ(sender.get(), content.size() - 1000);
  ::close(fd);
  client.close();
  echo.join();
}

TEST_F(SslTest, RaggedEofIsEndOfStreamByDefaultAndAnErrorWhenAsked) {
  auto strict = client_context();
  strict.set_suppress_ragged_eofs(false);
  EXPECT_TRUE(client_context().suppress_ragged_eofs());
  char buf[16];
  {
    auto [client, server] = tls_pair(server_context(), client_context());
    server.shutdown(SHUT_WR);  // TCP's end of stream, no close_notify
    EXPECT_EQ(client.recv(buf), 0u);
    client.sendall("still heard");  // a half-closed peer can still be answered
    EXPECT_EQ(read_exactly(server, 11), "still heard");
  }
  {
    auto [client, server] = tls_pair(server_context(), strict);
    server.close();
    std::error_code ec;
    EXPECT_EQ(client.recv(buf, ec), 0u);
    EXPECT_EQ(ec, ssl::ssl_errc::stream_truncated);
  }
  {
    auto [client, server] = tls_pair(server_context(), strict);
    auto closing = gevent::spawn([&server = server] { return server.unwrap(); });
    EXPECT_EQ(client.recv(buf), 0u);  // close_notify: a clean end, even for strict
    client.unwrap();
    EXPECT_TRUE(closing.get().is_open());
  }
}

TEST_F(SslTest, ANonBlockingTlsSocketSaysWouldBlock) {
  auto [client, server] = tls_pair(server_context(), client_context());
  client.setblocking(false);
  char buf[16];
  std::error_code ec;
  client.recv(buf, ec);
  EXPECT_EQ(ec, std::errc::operation_would_block);
  server.sendall("now");
  client.settimeout(5s);
  EXPECT_EQ(client.recv(buf), 3u);
}

// ---- contexts: SNI, ALPN, versions, bad input ----

TEST_F(SslTest, TheServernameCallbackSeesSniAndCanSwitchTheContext) {
  auto main_ctx = server_context();
  auto other_ctx = server_context(tls_certs().other, tls_certs().other_key);
  std::vector<std::string> seen;
  main_ctx.set_servername_callback([&](std::string_view name) -> ssl::SSLContext* {
    seen.emplace_back(name);
    if (name == "boom") throw std::runtime_error("no such site");
    return name == "other.test" ? &other_ctx : nullptr;
  });
  {
    auto [client, server] = tls_pair(main_ctx, client_context(), "other.test");
    EXPECT_EQ(server.server_hostname(), "other.test");
    EXPECT_TRUE(has_pair(client.getpeercert()->subject, "commonName", "other.test"));
    EXPECT_EQ(server.context()->native_handle(), other_ctx.native_handle());
  }
  {
    auto [client, server] = tls_pair(main_ctx, client_context(), "localhost");
    EXPECT_TRUE(has_pair(client.getpeercert()->subject, "commonName", "localhost"));
    EXPECT_EQ(server.context()->native_handle(), main_ctx.native_handle());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"other.test", "localhost"}));

  auto server = listener();
  auto failing = gevent::spawn([&] {
    auto [conn, peer] = server.accept();
    std::error_code ec;
    EXPECT_THROW(ssl::wrap_server(std::move(conn), main_ctx, ec), std::runtime_error);
  });
  auto lax = client_context();
  lax.set_check_hostname(false);
  EXPECT_THROW(lax.wrap_socket(gevent::create_connection(server.getsockname(), 5s), false, "boom"),
               ssl::SSLError);
  failing.join();
}

TEST_F(SslTest, AlpnPicksTheServersFirstChoiceTheClientOffers) {
  auto server_ctx = server_context();
  server_ctx.set_alpn_protocols({"h2", "http/1.1"});
  auto client_ctx = client_context();
  client_ctx.set_alpn_protocols({"http/1.1", "h2"});
  auto [client, server] = tls_pair(server_ctx, client_ctx);
  EXPECT_EQ(client.selected_alpn_protocol(), "h2");
  EXPECT_EQ(server.selected_alpn_protocol(), "h2");
  client_ctx.set_alpn_protocols({"spdy/1"});
  auto [client2, server2] = tls_pair(server_ctx, client_ctx);
  EXPECT_EQ(client2.selected_alpn_protocol(), std::nullopt);
  EXPECT_EQ(server2.selected_alpn_protocol(), std::nullopt);
}

TEST_F(SslTest, ContextDefaultsVersionsAndCiphers) {
  auto client_ctx = client_context();
  EXPECT_EQ(client_ctx.verify_mode(), ssl::CERT_REQUIRED);
  EXPECT_TRUE(client_ctx.check_hostname());
  EXPECT_EQ(client_ctx.minimum_version(), ssl::TLSVersion::TLSv1_2);
  auto server_ctx = server_context();
  EXPECT_EQ(server_ctx.verify_mode(), ssl::CERT_NONE);
  EXPECT_FALSE(server_ctx.check_hostname());

  client_ctx.set_maximum_version(ssl::TLSVersion::TLSv1_2);
  client_ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256");
  auto [client, server] = tls_pair(server_ctx, client_ctx);
  EXPECT_EQ(client.version(), "TLSv1.2");
  EXPECT_EQ(server.cipher()->name, "ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_EQ(server.cipher()->protocol, "TLSv1.2");

  server_ctx.set_minimum_version(ssl::TLSVersion::TLSv1_3);  // now the two cannot agree
  auto refusing = listener();
  auto serving = gevent::spawn([&] {
    auto [conn, peer] = refusing.accept();
    std::error_code ec;
    ssl::wrap_server(std::move(conn), server_ctx, ec);
    return ec;
  });
  try {
    client_ctx.wrap_socket(gevent::create_connection(refusing.getsockname(), 5s), false,
                           "localhost");
    FAIL() << "handshake succeeded";
  } catch (const ssl::SSLError& e) {
    EXPECT_EQ(&e.code().category(), &ssl::ssl_category()) << e.what();
    EXPECT_NE(std::string(e.what()).find("alert"), std::string::npos) << e.what();
  }
  const auto server_ec = serving.get();
  EXPECT_EQ(&server_ec.category(), &ssl::ssl_category());
  EXPECT_NE(server_ec.message().find("unsupported protocol"), std::string::npos)
      << server_ec.message();
}

TEST_F(SslTest, BadInputIsAClearError) {
  ssl::SSLContext ctx(ssl::PROTOCOL_TLS_SERVER);
  try {
    ctx.load_cert_chain("/nonexistent/cert.pem");
    FAIL();
  } catch (const ssl::SSLError& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory) << e.what();
    EXPECT_NE(std::string(e.what()).find("/nonexistent/cert.pem"), std::string::npos);
  }
  EXPECT_THROW(ctx.load_cert_chain(tls_certs().server, tls_certs().other_key), ssl::SSLError);
  EXPECT_THROW(ctx.load_cert_chain(tls_certs().server, tls_certs().server_key_encrypted),
               ssl::SSLError);  // no password: an error, never a terminal prompt
  ctx.load_cert_chain(tls_certs().server, tls_certs().server_key_encrypted, "secret");
  EXPECT_THROW(ctx.set_ciphers("NO-SUCH-CIPHER"), ssl::SSLError);
  EXPECT_THROW(ctx.set_alpn_protocols({""}), std::invalid_argument);
  EXPECT_THROW(ctx.load_verify_data("not a certificate"), std::exception);
  EXPECT_THROW(ctx.load_verify_locations(""), std::invalid_argument);

  auto client_ctx = client_context();
  EXPECT_THROW(client_ctx.set_verify_mode(ssl::CERT_NONE), std::invalid_argument);
  auto [a, b] = std::pair{listener(), listener()};
  EXPECT_THROW(client_ctx.wrap_socket(std::move(a)), std::invalid_argument);  // no hostname
  EXPECT_THROW(client_ctx.wrap_socket(std::move(b), true), std::invalid_argument);
  EXPECT_THROW(client_ctx.wrap_socket(gevent::socket(), false, "localhost"), ssl::SSLError);

  ssl::SSLSocket empty;
  std::error_code ec;
  empty.do_handshake(ec);
  EXPECT_EQ(ec, std::errc::bad_file_descriptor);
  EXPECT_EQ(empty.version(), std::nullopt);
  gevent::socket udp(AF_INET, SOCK_DGRAM);
  EXPECT_THROW(server_context().wrap_socket(std::move(udp), true), std::invalid_argument);
}

}  // namespace
