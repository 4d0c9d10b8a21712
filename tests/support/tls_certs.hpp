// Throwaway certificates for TLS tests, made once per test process with the openssl CLI
// into a temporary directory (removed at exit):
//   ca            a test CA, the one clients trust
//   server        CN=localhost, SAN DNS:localhost and IP:127.0.0.1, signed by ca
//   other         CN=other.test, SAN DNS:other.test, signed by ca (for SNI)
//   client        CN=gevent-test-client, signed by ca (client certificates)
//   rogue_ca      another CA, which signed nothing the servers use (untrusted chains)
//   server_key_encrypted   server_key encrypted with the password "secret"
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/child_process.hpp"

namespace gevent::testing {

struct TlsCerts {
  std::string dir;
  std::string ca, ca_key, rogue_ca;
  std::string server, server_key, server_key_encrypted;
  std::string other, other_key;
  std::string client, client_key;
};

namespace tls_certs_detail {

inline std::string& dir_to_remove() {
  static std::string dir;
  return dir;
}

inline void openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string output;
  if (ChildProcess::run(argv, &output) != 0)
    throw std::runtime_error("openssl " + args.front() + " failed: " + output);
}

inline void make_ca(const std::string& dir, const std::string& name, const std::string& cn) {
  openssl({"req",
           "-x509",
           "-new",
           "-newkey",
           "ec",
           "-pkeyopt",
           "ec_paramgen_curve:prime256v1",
           "-nodes",
           "-keyout",
           dir + "/" + name + ".key",
           "-out",
           dir + "/" + name + ".pem",
           "-days",
           "2",
           "-subj",
           "/CN=" + cn,
           "-addext",
           "basicConstraints=critical,CA:TRUE",
           "-addext",
           "keyUsage=critical,keyCertSign,cRLSign"});
}

inline void make_leaf(const std::string& dir, const std::string& name, const std::string& cn,
                      const std::string& extensions, int serial) {
  const std::string base = dir + "/" + name;
  openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", base + ".key", "-out", base + ".csr", "-subj", "/CN=" + cn});
  std::FILE* ext = std::fopen((base + ".ext").c_str(), "w");
  if (!ext) throw std::runtime_error("cannot write " + base + ".ext");
  std::fputs(extensions.c_str(), ext);
  std::fclose(ext);
  openssl({"x509", "-req", "-in", base + ".csr", "-CA", dir + "/ca.pem", "-CAkey", dir + "/ca.key",
           "-set_serial", std::to_string(serial), "-days", "2", "-out", base + ".pem", "-extfile",
           base + ".ext"});
}

inline TlsCerts make() {
  char pattern[] = "/tmp/gevent-tls-XXXXXX";
  if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
  const std::string dir = pattern;
  dir_to_remove() = dir;
  std::atexit([] { std::filesystem::remove_all(dir_to_remove()); });
  make_ca(dir, "ca", "gevent-cpp test CA");
  make_ca(dir, "rogue_ca", "gevent-cpp rogue CA");
  const std::string server_ext = "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
  make_leaf(dir, "server", "localhost", server_ext + "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
            2);
  make_leaf(dir, "other", "other.test", server_ext + "subjectAltName=DNS:other.test\n", 3);
  make_leaf(dir, "client", "gevent-test-client",
            "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n", 4);
  openssl({"ec", "-in", dir + "/server.key", "-aes256", "-passout", "pass:secret", "-out",
           dir + "/server_encrypted.key"});
  return TlsCerts{dir,
                  dir + "/ca.pem",
                  dir + "/ca.key",
                  dir + "/rogue_ca.pem",
                  dir + "/server.pem",
                  dir + "/server.key",
                  dir + "/server_encrypted.key",
                  dir + "/other.pem",
                  dir + "/other.key",
                  dir + "/client.pem",
                  dir + "/client.key"};
}

}  // namespace tls_certs_detail

// The certificates, made at the first call.
inline const TlsCerts& tls_certs() {
  static const TlsCerts certs = tls_certs_detail::make();
  return certs;
}

}  // namespace gevent::testing
