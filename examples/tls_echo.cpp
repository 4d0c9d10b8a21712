// tls_echo: an echo server over TLS, one greenlet per connection (gevent's echoserver.py
// with an ssl context).
//
//   tls_echo CERT KEY [HOST:PORT]   serve on HOST:PORT (default 127.0.0.1:8443); try it with
//                                   openssl s_client -connect 127.0.0.1:8443
//   tls_echo --self-test            make a throwaway certificate (openssl CLI), serve on a
//                                   free port, check the echo with several verifying clients
#include <gevent/gevent.hpp>
#include <gevent/socket.hpp>
#include <gevent/socket_file.hpp>
#include <gevent/ssl.hpp>

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

void echo(gevent::socket conn, const gevent::ssl::SSLContext& context) {
  conn.settimeout(10s);  // bounds the handshake, then each read and write
  std::error_code ec;
  auto tls = gevent::ssl::wrap_server(std::move(conn), context, ec);
  if (ec) {
    std::cerr << "tls_echo: handshake failed: " << ec.message() << "\n";
    return;
  }
  char buf[16384];
  while (std::size_t n = tls.recv(buf, ec)) {
    tls.sendall({buf, n}, ec);
    if (ec) break;
  }
}

void serve(gevent::socket& listener, const gevent::ssl::SSLContext& context) {
  for (;;) {
    auto [conn, peer] = listener.accept();
    gevent::spawn([&context, conn = std::move(conn)]() mutable { echo(std::move(conn), context); });
  }
}

// One client: a verifying TLS connection, a few messages, each echoed back.
bool check_client(const gevent::address& server, const std::string& cafile, int id) {
  auto context = gevent::ssl::create_default_context(gevent::ssl::SERVER_AUTH, cafile);
  auto tls = context.wrap_socket(gevent::create_connection(server, 5s), false, "localhost");
  auto file = tls.makefile();
  for (int i = 0; i < 3; ++i) {
    const std::string line =
        "client " + std::to_string(id) + " message " + std::to_string(i) + "\n";
    tls.sendall(line);
    if (file.readline() != line) return false;
  }
  if (id == 0) std::cout << "tls_echo: " << *tls.version() << ", " << tls.cipher()->name << "\n";
  return true;
}

int self_test() {
  char pattern[] = "/tmp/tls_echo-XXXXXX";
  if (!::mkdtemp(pattern)) return 1;
  const std::filesystem::path dir = pattern;
  const std::string cert = dir / "cert.pem", key = dir / "key.pem";
  const std::string make_cert =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
      "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " 2>/dev/null";
  if (std::system(make_cert.c_str()) != 0) {
    std::cerr << "tls_echo: the openssl CLI could not make a certificate\n";
    return 1;
  }
  gevent::ssl::SSLContext context(gevent::ssl::PROTOCOL_TLS_SERVER);
  context.load_cert_chain(cert, key);
  auto listener = gevent::listen_tcp(gevent::address::ip("127.0.0.1", 0));
  auto server = gevent::spawn([&] { serve(listener, context); });

  std::vector<gevent::Greenlet<bool>> clients;
  for (int id = 0; id < 4; ++id)
    clients.push_back(gevent::spawn(check_client, listener.getsockname(), cert, id));
  gevent::joinall(clients);
  bool ok = true;
  for (auto& client : clients) {
    try {
      ok = client.get() && ok;
    } catch (const std::exception& e) {
      std::cerr << "tls_echo: client failed: " << e.what() << "\n";
      ok = false;
    }
  }
  server.kill();
  std::filesystem::remove_all(dir);
  std::cout << "tls_echo: self-test " << (ok ? "passed" : "FAILED") << "\n";
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 1 && args[0] == "--self-test") return self_test();
  if (args.size() < 2 || args.size() > 3) {
    std::cerr << "usage: tls_echo CERT KEY [HOST:PORT] | tls_echo --self-test\n";
    return 2;
  }
  gevent::ssl::SSLContext context(gevent::ssl::PROTOCOL_TLS_SERVER);
  context.load_cert_chain(args[0], args[1]);
  auto listener =
      gevent::listen_tcp(gevent::address::parse(args.size() == 3 ? args[2] : "127.0.0.1:8443"));
  std::cout << "tls_echo: serving on " << listener.getsockname().to_string() << std::endl;
  serve(listener, context);
}
