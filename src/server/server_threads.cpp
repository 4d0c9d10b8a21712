#include "gevent/server_threads.hpp"

#include <exception>
#include <stdexcept>
#include <thread>

#include "gevent/greenlet.hpp"

namespace gevent::server {

void ServerThreads::run(int count, const Factory& make, const Started& started) {
  if (count < 1) throw std::invalid_argument("gevent: ServerThreads needs at least one thread");
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto serve_here = [&] {
    try {
      serve(make, started);
    } catch (...) {
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      stop_all();
    }
  };
  std::vector<std::thread> others;
  for (int i = 1; i < count; ++i)
    others.emplace_back([&] {
      serve_here();
      Hub::destroy_current();
    });
  serve_here();
  for (auto& t : others) t.join();
  if (failure) std::rethrow_exception(failure);
}

void ServerThreads::serve(const Factory& make, const Started& started) {
  std::unique_ptr<BaseServer> server = make();
  server->start();
  if (!add(*server)) return;
  if (started) started(*server);
  server->serve_forever();
  remove(*server);
}

bool ServerThreads::add(BaseServer& server) {
  std::lock_guard lock(mutex_);
  if (stopping_) return false;
  entries_.push_back({&get_hub(), &server});
  return true;
}

void ServerThreads::remove(BaseServer& server) {
  std::lock_guard lock(mutex_);
  std::erase_if(entries_, [&](const Entry& e) { return e.server == &server; });
}

void ServerThreads::stop_all() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  // stop() waits for the handlers: each in a greenlet of its own hub.
  for (const Entry& e : entries_)
    e.hub->run_callback_threadsafe(
        [server = e.server] { gevent::spawn_raw([server] { server->stop(); }); });
}

}  // namespace gevent::server
