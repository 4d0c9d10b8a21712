// Where a StreamServer's TLS connections wait for their first byte, without a greenlet.
//
// A TLS handshake holds a greenlet and a slot of the server's Pool for as long as it takes,
// so connections that never say anything (a port scanner, a flood of silent TCP connections)
// used to fill the Pool until handshake_timeout, and real clients waited behind them. Here a
// connection takes a slot only once its ClientHello arrives: until then it is a small record
// in a queue, waiting as a callback in the fd table. The queue holds at most `capacity`
// (the oldest is closed to make room) and closes those that stay silent for `timeout`.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "fd/fd_state.hpp"
#include "gevent/address.hpp"
#include "gevent/detail/intrusive_list.hpp"
#include "gevent/detail/timer_node.hpp"
#include "gevent/detail/waiter.hpp"
#include "gevent/greenlet.hpp"
#include "gevent/pool.hpp"
#include "gevent/socket.hpp"

namespace gevent::server::detail {

class Lobby {
 public:
  // Runs in a new greenlet of the group once the connection has sent a byte.
  using Admit = std::function<void(gevent::socket& connection, const address& peer)>;
  // Told about a connection closed for its silence (timed out or pushed out).
  using Dismissed = std::function<void(const address& peer, const char* why)>;

  Lobby(Group& group, std::size_t capacity, MaybeDuration timeout, Admit admit,
        Dismissed dismissed);
  ~Lobby();
  Lobby(const Lobby&) = delete;
  Lobby& operator=(const Lobby&) = delete;

  void enter(gevent::socket&& connection, const address& peer);
  // Closes every connection still waiting; none is admitted after.
  void close();

  std::size_t waiting() const { return count_; }

 private:
  struct Guest : gevent::detail::FdWait {
    Guest(Lobby& owner, gevent::socket&& connection, const address& from);
    Lobby& lobby;
    gevent::socket sock;
    address peer;
    gevent::detail::Clock::time_point since;
    bool ready = false;
    gevent::detail::ListHook<Guest> hook;
  };
  using Queue = gevent::detail::IntrusiveQueue<Guest, &Guest::hook>;

  static void on_readable(gevent::detail::FdWait& wait);
  static void on_sweep(gevent::detail::TimerNode& node);
  void dismiss(Guest& guest, const char* why);
  void leave(Guest& guest);
  void schedule_sweep();
  void dispatch();

  Group& group_;
  std::size_t capacity_;
  MaybeDuration timeout_;
  Admit admit_;
  Dismissed dismissed_;
  Queue silent_;  // in the order they came
  Queue ready_;   // sent a byte, waiting for a greenlet
  std::size_t count_ = 0;
  bool closed_ = false;
  gevent::detail::Doorbell doorbell_;  // the dispatcher's
  Greenlet<void> dispatcher_;
  struct Sweeper : gevent::detail::TimerNode {
    Lobby* owner;
  } sweeper_;
  Hub& hub_;
};

}  // namespace gevent::server::detail
