#include "server/lobby.hpp"

#include "fd/watchdog.hpp"
#include "gevent/hub.hpp"
#include "io/socket_state.hpp"

namespace gevent::server::detail {

using gevent::detail::coarse_now;

Lobby::Guest::Guest(Lobby& owner, gevent::socket&& connection, const address& from)
    : lobby(owner), sock(std::move(connection)), peer(from), since(coarse_now()) {}

Lobby::Lobby(Group& group, std::size_t capacity, MaybeDuration timeout, Admit admit,
             Dismissed dismissed)
    : group_(group),
      capacity_(capacity),
      timeout_(timeout),
      admit_(std::move(admit)),
      dismissed_(std::move(dismissed)),
      hub_(Hub::current()) {
  sweeper_.fire = &Lobby::on_sweep;
  sweeper_.owner = this;
  dispatcher_ = gevent::spawn([this] { dispatch(); });
}

Lobby::~Lobby() {
  close();
  if (sweeper_.armed()) hub_.cancel_timer(sweeper_);
}

void Lobby::enter(gevent::socket&& connection, const address& peer) {
  if (closed_) return;
  if (count_ >= capacity_ && silent_.front()) dismiss(*silent_.front(), "too many silent");
  auto guest = std::make_unique<Guest>(*this, std::move(connection), peer);
  guest->callback = &Lobby::on_readable;
  gevent::detail::SocketAccess::of(guest->sock)
      .io.call_when_ready(gevent::detail::FdState::kRead, *guest);
  silent_.push_back(*guest);
  ++count_;
  guest.release();
  schedule_sweep();
}

void Lobby::on_readable(gevent::detail::FdWait& wait) {
  auto& guest = static_cast<Guest&>(wait);
  Lobby& self = guest.lobby;
  self.silent_.erase(guest);
  guest.ready = true;
  self.ready_.push_back(guest);
  self.doorbell_.ring();
}

void Lobby::leave(Guest& guest) {
  (guest.ready ? ready_ : silent_).erase(guest);
  gevent::detail::SocketAccess::of(guest.sock).io.forget(guest);
  --count_;
}

void Lobby::dismiss(Guest& guest, const char* why) {
  const address peer = guest.peer;
  leave(guest);
  delete &guest;  // closes the connection
  if (dismissed_) dismissed_(peer, why);
}

void Lobby::close() {
  closed_ = true;
  for (Queue* queue : {&silent_, &ready_})
    while (Guest* guest = queue->front()) dismiss(*guest, nullptr);
  if (dispatcher_ && !dispatcher_.dead()) dispatcher_.kill();
}

void Lobby::schedule_sweep() {
  const Guest* oldest = silent_.front();
  if (!timeout_ || !oldest || sweeper_.armed()) return;
  const auto at = oldest->since + timeout_.value();
  hub_.add_timer(sweeper_, std::max(at - coarse_now(), gevent::detail::Clock::duration::zero()));
}

void Lobby::on_sweep(gevent::detail::TimerNode& node) {
  Lobby& self = *static_cast<Sweeper&>(node).owner;
  const auto now = coarse_now();
  while (Guest* oldest = self.silent_.front()) {
    if (oldest->since + self.timeout_.value() > now) break;
    self.dismiss(*oldest, "silent for handshake_timeout");
  }
  self.schedule_sweep();
}

// Gives each connection that spoke a greenlet of the group (a Pool: waits for a slot).
void Lobby::dispatch() {
  for (;;) {
    while (Guest* guest = ready_.front()) {
      leave(*guest);
      std::unique_ptr<Guest> owned(guest);
      group_.spawn([this, sock = std::move(guest->sock), peer = guest->peer]() mutable {
        admit_(sock, peer);
      });
    }
    doorbell_.wait({"TLS connections' first bytes (lobby dispatcher)"});
  }
}

}  // namespace gevent::server::detail
