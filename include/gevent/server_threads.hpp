// Several hubs serving one port: a server per thread, each on its own hub, the kernel
// spreading the connections among them through SO_REUSEPORT.
//
//   gevent::server::ServerThreads threads;
//   auto stop = gevent::signal_handler(SIGTERM, [&] { threads.stop_all(); });
//   threads.run(4, [] { return std::make_unique<gevent::pywsgi::WSGIServer>(...); });
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "gevent/hub.hpp"
#include "gevent/server.hpp"

namespace gevent::server {

class ServerThreads {
 public:
  // Builds the server of each thread (its options need reuse_port when count > 1).
  using Factory = std::function<std::unique_ptr<BaseServer>()>;
  // Called in each thread once its server listens (e.g. to print where).
  using Started = std::function<void(BaseServer&)>;

  // Runs `count` servers, on this thread and count - 1 new ones, until stop_all(); returns
  // when all have stopped. What a thread's factory or start throws stops the others and is
  // rethrown here.
  void run(int count, const Factory& make, const Started& started = {});
  // Stops every server (each by its own hub, gracefully). Callable from any thread, from a
  // signal handler's greenlet, and before the servers started (then they stop at once).
  void stop_all();

 private:
  struct Entry {
    Hub* hub;
    BaseServer* server;
  };
  void serve(const Factory& make, const Started& started);
  bool add(BaseServer& server);
  void remove(BaseServer& server);

  std::mutex mutex_;
  std::vector<Entry> entries_;
  bool stopping_ = false;
};

}  // namespace gevent::server
