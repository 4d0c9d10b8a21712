// tls_echo: an echo server over TLS, one greenlet per connection (gevent's echoserver.py
// with an ssl context).
//
//   tls_echo CERT KEY [HOST:PORT]   serve on HOST:PORT (default 127.0.0.1:8443); try it with
//                                   openssl s_client -connect 127.0.0.1:8443
//   tls_echo --self-test            make a throwaway certificate (openssl CLI), serve on a
//                                   free port, check the echo with several verifying clients
#include "command_line.hpp"

#include <gevent/gevent.hpp>
#include <gevent/server.hpp>
#include <gevent/signal.hpp>
#include <gevent/socket_file.hpp>
#include <gevent/ssl.hpp>

#include <stdlib.h>
#include <csignal>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr std::string_view usage = R"(usage: tls_echo CERT KEY [HOST:PORT]
       tls_echo --self-test

An echo server over TLS. Ctrl-C or SIGTERM stops it.

  CERT KEY       PEM files of the server's certificate chain and private key
  HOST:PORT      address to listen on (default 127.0.0.1:8443); try it with
                 openssl s_client -connect 127.0.0.1:8443
  --self-test    make a throwaway certificate (openssl CLI), serve on a free port and
                 check the echo with several verifying clients
  -h, --help     print this help and exit
)";

struct Options {
  bool help = false;
  bool self_test = false;
  std::vector<std::string> positional;  // CERT KEY [HOST:PORT]
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (example::help_requested(arg, options.help)) return options;
    if (arg == "--self-test")
      options.self_test = true;
    else if (arg.starts_with("-"))
      throw example::UsageError("unknown option " + arg);
    else
      options.positional.push_back(arg);
  }
  const std::size_t given = options.positional.size();
  if (options.self_test && given > 0)
    throw example::UsageError("--self-test takes no other arguments");
  if (!options.self_test && (given < 2 || given > 3))
    throw example::UsageError("expected 2 or 3 arguments, CERT KEY [HOST:PORT]; got " +
                              std::to_string(given));
  return options;
}

// The StreamServer has done the TLS handshake: `sock` is the gevent::ssl::SSLSocket.
void echo(gevent::socket& sock, const gevent::address&) {
  char buf[16384];
  std::error_code ec;
  while (std::size_t n = sock.recv(buf, ec)) {
    sock.sendall({buf, n}, ec);
    if (ec) break;
  }
}

// A server on `where` that does TLS with the certificate and key given.
gevent::server::StreamServer tls_server(const std::string& where, const std::string& cert,
                                        const std::string& key) {
  gevent::server::ServerOptions options;
  options.ssl_context.emplace(gevent::ssl::PROTOCOL_TLS_SERVER);
  options.ssl_context->load_cert_chain(cert, key);
  options.handshake_timeout = 10s;
  return gevent::server::StreamServer{where, echo, 1000, options};
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
  auto server = tls_server("127.0.0.1:0", cert, key);
  server.start();
  std::vector<gevent::Greenlet<bool>> clients;
  for (int id = 0; id < 4; ++id)
    clients.push_back(gevent::spawn(check_client, server.server_address(), cert, id));
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
  server.stop();
  std::filesystem::remove_all(dir);
  std::cout << "tls_echo: self-test " << (ok ? "passed" : "FAILED") << "\n";
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return example::run("tls_echo", usage, [&] {
    const Options options = parse(argc, argv);
    if (options.help) return example::print_usage(usage);
    if (options.self_test) return self_test();
    const auto& args = options.positional;
    auto server = tls_server(args.size() == 3 ? args[2] : "127.0.0.1:8443", args[0], args[1]);
    auto stop_on_int = gevent::signal_handler(SIGINT, [&] { server.stop(); });
    auto stop_on_term = gevent::signal_handler(SIGTERM, [&] { server.stop(); });
    server.start();
    std::cout << "tls_echo: serving on " << server.server_address().to_string() << std::endl;
    server.serve_forever();
    return 0;
  });
}
