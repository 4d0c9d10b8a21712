#include "wsgi/connections.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>

#include "gevent/hub.hpp"
#include "io/socket_state.hpp"
#include "sys/libc.hpp"
#include "wsgi/connection.hpp"

namespace gevent::pywsgi::detail {
namespace {

// Idle workers kept for the next connections; a worker that finds nothing to do beyond these
// ends, and its stack goes back to the pool.
constexpr std::size_t kIdleWorkersKept = 4;
// After a worker could not be started, the connections wait this long before the next try.
constexpr auto kRetryWorker = std::chrono::milliseconds(100);

gevent::detail::FdState& io_of(gevent::socket& sock) {
  return gevent::detail::SocketAccess::of(sock).io;
}

void set_nodelay(gevent::socket& sock) {
  // Each answer goes out in one send, so Nagle's algorithm could only delay it.
  if (sock.family() == AF_INET || sock.family() == AF_INET6) {
    const int on = 1;
    sys::setsockopt(sock.fileno(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }
}

}  // namespace

ConnectionRecord::ConnectionRecord(Connections& connections, gevent::socket&& connection,
                                   const address& from)
    : owner(connections), sock(std::move(connection)), peer(from), since(coarse_now()) {}

Connections::Connections(ServerContext& context, Group& group,
                         std::optional<std::size_t> max_connections)
    : context_(context), group_(group), max_connections_(max_connections), hub_(Hub::current()) {
  sweeper_.fire = &Connections::on_sweep;
  sweeper_.owner = this;
  dispatcher_ = gevent::spawn([this] { dispatch(); });
}

Connections::~Connections() {
  if (sweeper_.armed()) hub_.cancel_timer(sweeper_);
  close_waiting();
}

// --- connections ---

void Connections::adopt(gevent::socket&& connection, const address& peer) {
  wait_for_room();
  auto* record = new ConnectionRecord(*this, std::move(connection), peer);
  record->callback = &Connections::on_readable;
  ++open_;
  hub_.burst_object_added();
  try {
    set_nodelay(record->sock);
    record->sock.settimeout({});  // the worker's watchdog bounds every wait
    // OpenSSL may have read the first request with the handshake: no edge would announce it.
    if (gevent::detail::SocketAccess::of(record->sock).tls)
      enqueue(*record);
    else
      park(*record);
  } catch (...) {
    close(*record);
    throw;
  }
}

void Connections::wait_for_room() {
  while (max_connections_ && open_ >= *max_connections_)
    if (!evict_idlest()) wait_on(room_waiters_, "room under max_connections");
}

// A connection parked or closed: who waits for room looks again.
void Connections::room_changed() {
  while (wake_first(room_waiters_)) {
  }
}

// At max_connections: the connection parked longest goes, a kept-alive one first (its client
// reconnects, as for any closed idle connection), then one that never sent a byte.
bool Connections::evict_idlest() {
  ConnectionRecord* idlest = kept_.front() ? kept_.front() : fresh_.front();
  if (!idlest) return false;
  close(*idlest);
  return true;
}

void Connections::park(ConnectionRecord& record) {
  if (!record.first_request) record.since = coarse_now();
  io_of(record.sock).call_when_ready(gevent::detail::FdState::kRead, record);
  record.where =
      record.first_request ? ConnectionRecord::Where::fresh : ConnectionRecord::Where::kept;
  queue_of(record.where)->push_back(record);
  const auto& options = context_.options;
  const MaybeDuration limit =
      record.first_request ? options.header_timeout : options.keepalive_timeout;
  if (limit) schedule_sweep(record.since + limit.value());
  room_changed();
}

void Connections::on_readable(FdWait& wait) {
  auto& record = static_cast<ConnectionRecord&>(wait);
  Connections& self = record.owner;
  self.leave_queue(record);
  self.enqueue(record);
}

// Hands the connection to an idle worker (the one idle for the shortest time, the warmest),
// or has the dispatcher find one.
void Connections::enqueue(ConnectionRecord& record) {
  record.where = ConnectionRecord::Where::ready;
  ready_.push_back(record);
  if (!wake_first(idle_)) doorbell_.ring();
}

void Connections::leave_queue(ConnectionRecord& record) {
  if (RecordQueue* queue = queue_of(record.where)) queue->erase(record);
  record.where = ConnectionRecord::Where::served;
}

Connections::RecordQueue* Connections::queue_of(ConnectionRecord::Where where) {
  switch (where) {
    case ConnectionRecord::Where::fresh:
      return &fresh_;
    case ConnectionRecord::Where::kept:
      return &kept_;
    case ConnectionRecord::Where::ready:
      return &ready_;
    case ConnectionRecord::Where::served:
      break;
  }
  return nullptr;
}

void Connections::close(ConnectionRecord& record) {
  leave_queue(record);
  io_of(record.sock).forget(record);
  delete &record;  // closes the socket
  --open_;
  hub_.burst_object_removed();
  room_changed();
}

// Closes every connection not being served: parked, or queued for a worker.
void Connections::close_waiting() {
  for (RecordQueue* queue : {&fresh_, &kept_, &ready_})
    while (ConnectionRecord* record = queue->front()) close(*record);
}

void Connections::stop() {
  stopping_ = true;
  close_waiting();
  while (wake_first(idle_)) {
  }
  if (dispatcher_ && !dispatcher_.dead()) dispatcher_.kill();
}

// --- timeouts ---

void Connections::schedule_sweep(Clock::time_point at) {
  if (sweeper_.armed()) {
    if (sweeper_.deadline <= at) return;  // it fires first, then looks again
    hub_.cancel_timer(sweeper_);
  }
  hub_.add_timer(sweeper_, std::max(at - coarse_now(), Clock::duration::zero()));
}

void Connections::on_sweep(gevent::detail::TimerNode& node) {
  Connections& self = *static_cast<Sweeper&>(node).owner;
  const auto& options = self.context_.options;
  const Clock::time_point now = coarse_now();
  self.sweep(self.fresh_, options.header_timeout, now);
  self.sweep(self.kept_, options.keepalive_timeout, now);
}

// Closes the connections of `queue` parked `limit` ago or earlier, and arms the sweep for the
// next one to expire.
void Connections::sweep(RecordQueue& queue, MaybeDuration limit, Clock::time_point now) {
  if (!limit) return;
  while (ConnectionRecord* oldest = queue.front()) {
    const Clock::time_point expires = oldest->since + limit.value();
    if (expires > now) return schedule_sweep(expires);
    close(*oldest);
  }
}

// --- workers ---

// Spawns a worker whenever connections wait and no worker is idle: either they are all busy
// in a request, or the Pool is full (then spawn waits for a slot).
void Connections::dispatch() {
  for (;;) {
    while (!ready_.empty() && !idle_.front() && !stopping_) {
      try {
        group_.spawn([this] { work(); });
        gevent::sleep();  // the new worker starts first, and may take every queued connection
      } catch (const std::exception& e) {  // no memory for a greenlet or its stack
        context_.log_error(std::string("cannot start a worker: ") + e.what());
        gevent::sleep(kRetryWorker);
      }
    }
    doorbell_.wait({"connections ready to serve (dispatcher)"});
  }
}

void Connections::work() {
  Connection connection(context_);
  const gevent::detail::GreenletBase& me = hub_.current_greenlet();
  const auto unobserved = me.observers();
  for (;;) {
    ConnectionRecord* record = ready_.pop_front();
    if (!record) {
      if (stopping_ || idle_count_ >= kIdleWorkersKept) return;
      wait_idle();
      continue;
    }
    record->where = ConnectionRecord::Where::served;
    serve(connection, *record);
    if (me.observers() != unobserved) return;  // a fresh greenlet serves the next client
  }
}

// Serves `record` until it would block (then parks it) or ends. A kill ends the worker too.
void Connections::serve(Connection& connection, ConnectionRecord& record) {
  bool keep = false;
  try {
    keep = connection.serve(record) && !stopping_;
    if (keep) park(record);
  } catch (const std::exception& e) {
    context_.log_error("connection from " + record.peer.to_string() + " failed: " + e.what());
    keep = false;
  } catch (...) {
    close(record);
    throw;
  }
  if (!keep) close(record);
}

void Connections::wait_idle() {
  ++idle_count_;
  struct Count {
    std::size_t& idle;
    ~Count() { --idle; }
  } count{idle_count_};
  wait_on(idle_, "a connection to serve (idle worker)");
}

void Connections::wait_on(WaitingList& list, const char* what) {
  Waiting me;
  me.waiter.set_topic({what});
  list.push_front(me);
  struct Leave {
    WaitingList& list;
    Waiting& me;
    ~Leave() {
      if (!me.waiter.woken()) list.erase(me);  // killed while on the list
    }
  } leave{list, me};
  me.waiter.wait();
}

bool Connections::wake_first(WaitingList& list) {
  Waiting* first = list.front();
  if (!first) return false;
  list.erase(*first);
  first->waiter.wake();
  return true;
}

}  // namespace gevent::pywsgi::detail
