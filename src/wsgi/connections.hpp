// The open connections of one WSGIServer and the greenlets that serve them.
//
// A connection that has answered everything it was sent and has nothing buffered is parked:
// its ConnectionRecord (the socket, the peer, two flags: a few hundred bytes) waits for its
// next readable edge as a callback in the hub's fd table, with no greenlet, stack or buffer.
// The edge queues it for a worker: a greenlet of the server's group with a Connection of its
// own (buffers, parser state) that serves it until it would block again, parks it, and takes
// the next queued one. A few workers serve many connections, and their memory stays warm.
//
// A worker goes on to another connection only if nobody kept or watched it while it served
// the last one (a handle from getcurrent(), a link, a greenlet-local, a name: see
// GreenletBase::observers). Otherwise it ends and a fresh worker takes over, so what one
// client's requests leave on their greenlet never reaches another client's.
//
// Parked connections time out without a timer each: they sit in two lists in the order they
// were parked, one per duration (a new connection's first head is due header_timeout after
// it opened; a kept-alive one closes keepalive_timeout after its last answer), so each list's
// head expires first, and one hub timer sweeps both. Parking costs a list append.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "fd/fd_state.hpp"
#include "fd/watchdog.hpp"
#include "gevent/address.hpp"
#include "gevent/detail/intrusive_list.hpp"
#include "gevent/detail/waiter.hpp"
#include "gevent/greenlet.hpp"
#include "gevent/pool.hpp"
#include "gevent/socket.hpp"

namespace gevent::pywsgi::detail {

using gevent::detail::Clock;
using gevent::detail::FdWait;
using gevent::detail::ListHook;

struct ServerContext;
class Connection;
class Connections;

// One open connection between its requests. The FdWait base is its parked callback.
struct ConnectionRecord : FdWait {
  enum class Where : std::uint8_t { fresh, kept, ready, served };

  ConnectionRecord(Connections& owner, gevent::socket&& connection, const address& from);

  Connections& owner;
  gevent::socket sock;
  address peer;
  Clock::time_point since;  // when it opened, then when it was last parked
  Where where = Where::served;
  bool first_request = true;
  ListHook<ConnectionRecord> queue_hook;  // in the list `where` names, unless served
};

class Connections {
 public:
  // `context` and `group` outlive this.
  Connections(ServerContext& context, Group& group, std::optional<std::size_t> max_connections);
  ~Connections();
  Connections(const Connections&) = delete;
  Connections& operator=(const Connections&) = delete;

  // A new connection: parked until its first bytes come. At max_connections, the connection
  // parked longest is closed to make room (a kept-alive one first, then one that has sent
  // nothing yet); when all are in the middle of a request, waits until one ends.
  void adopt(gevent::socket&& connection, const address& peer);
  // The server stops: parked and queued connections close, idle workers end, and busy ones
  // close their connection after the request in progress.
  void stop();

  std::size_t open() const { return open_; }

 private:
  // A greenlet waiting on one of the lists below; whoever wakes it takes it off.
  struct Waiting {
    gevent::detail::Waiter waiter;
    ListHook<Waiting> hook;
  };
  using WaitingList = gevent::detail::IntrusiveList<Waiting, &Waiting::hook>;
  using RecordQueue =
      gevent::detail::IntrusiveQueue<ConnectionRecord, &ConnectionRecord::queue_hook>;

  static void on_readable(FdWait& wait);
  static void on_sweep(gevent::detail::TimerNode& node);
  void park(ConnectionRecord& record);
  void enqueue(ConnectionRecord& record);
  void leave_queue(ConnectionRecord& record);
  void close(ConnectionRecord& record);
  void close_waiting();
  RecordQueue* queue_of(ConnectionRecord::Where where);
  void schedule_sweep(Clock::time_point at);
  void sweep(RecordQueue& queue, MaybeDuration limit, Clock::time_point now);
  void wait_for_room();
  void room_changed();
  bool evict_idlest();
  void dispatch();
  void work();
  void serve(Connection& connection, ConnectionRecord& record);
  void wait_idle();
  static void wait_on(WaitingList& list, const char* what);
  static bool wake_first(WaitingList& list);

  ServerContext& context_;
  Group& group_;
  std::optional<std::size_t> max_connections_;
  std::size_t open_ = 0;
  bool stopping_ = false;
  RecordQueue fresh_;  // parked, no request yet
  RecordQueue kept_;   // parked between requests
  RecordQueue ready_;  // readable, waiting for a worker
  WaitingList idle_;   // idle workers, the last one idle first
  std::size_t idle_count_ = 0;
  WaitingList room_waiters_;           // greenlets waiting for room under max_connections
  gevent::detail::Doorbell doorbell_;  // the dispatcher's
  Greenlet<void> dispatcher_;
  struct Sweeper : gevent::detail::TimerNode {
    Connections* owner;
  } sweeper_;
  Hub& hub_;
};

}  // namespace gevent::pywsgi::detail
