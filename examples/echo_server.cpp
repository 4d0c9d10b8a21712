// echo_server: gevent's examples/echoserver.py in C++. A StreamServer echoes whatever each
// client sends, one greenlet per connection. Ctrl-C or SIGTERM stops it gracefully.
//
//   echo_server [--host 127.0.0.1] [--port 6000] [--threads N]
//
// With --threads N, N hubs on N threads each serve the same port (SO_REUSEPORT) and the
// kernel spreads the connections among them.
#include <gevent/gevent.hpp>
#include <gevent/server.hpp>
#include <gevent/signal.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <csignal>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

void echo(gevent::socket& sock, const gevent::address&) {
  sock.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
  char buf[65536];
  std::error_code ec;  // a client that resets just ends its echo; nothing to report
  while (size_t n = sock.recv(buf, ec)) {
    sock.sendall({buf, n}, ec);
    if (ec) break;
  }
}

struct Options {
  std::string host = "127.0.0.1";
  int port = 6000;
  int threads = 1;
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument("missing value after " + flag);
    const std::string value = argv[++i];
    if (flag == "--host")
      options.host = value;
    else if (flag == "--port")
      options.port = std::stoi(value);
    else if (flag == "--threads")
      options.threads = std::stoi(value);
    else
      throw std::invalid_argument("unknown option " + flag);
  }
  if (options.threads < 1) throw std::invalid_argument("--threads must be at least 1");
  return options;
}

// The servers of every thread, so that the signal (seen by the main thread) stops them all.
class Servers {
 public:
  // False if a stop signal came first: then the server must not serve.
  bool add(gevent::Hub& hub, gevent::server::StreamServer& server) {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    entries_.push_back({&hub, &server});
    return true;
  }
  void remove(gevent::server::StreamServer& server) {
    std::lock_guard lock(mutex_);
    std::erase_if(entries_, [&](const Entry& e) { return e.server == &server; });
  }
  // Each hub stops its own server, in a greenlet of its own (stop() waits for handlers).
  void stop_all() {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (const Entry& e : entries_)
      e.hub->run_callback_threadsafe(
          [server = e.server] { gevent::spawn_raw([server] { server->stop(); }); });
  }

 private:
  struct Entry {
    gevent::Hub* hub;
    gevent::server::StreamServer* server;
  };
  std::mutex mutex_;
  std::vector<Entry> entries_;
  bool stopping_ = false;
};

void serve(const Options& options, Servers& servers) {
  gevent::server::ServerOptions server_options;
  server_options.reuse_port = options.threads > 1;
  server_options.backlog = 4096;
  gevent::server::StreamServer server{
      options.host + ":" + std::to_string(options.port), echo, {}, server_options};
  server.start();
  if (!servers.add(gevent::get_hub(), server)) return;
  std::cout << "echo_server: serving on " + server.server_address().to_string() + "\n"
            << std::flush;
  server.serve_forever();
  servers.remove(server);
}

}  // namespace

int main(int argc, char** argv) try {
  const Options options = parse(argc, argv);
  Servers servers;
  auto on_signal = [&] { servers.stop_all(); };
  auto stop_on_int = gevent::signal_handler(SIGINT, on_signal);
  auto stop_on_term = gevent::signal_handler(SIGTERM, on_signal);
  std::vector<std::thread> workers;
  for (int i = 1; i < options.threads; ++i)
    workers.emplace_back([&] {
      serve(options, servers);
      gevent::Hub::destroy_current();
    });
  serve(options, servers);
  for (auto& w : workers) w.join();
  return 0;
} catch (const std::exception& e) {
  std::cerr << "echo_server: " << e.what() << "\n";
  return 1;
}
