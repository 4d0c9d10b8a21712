// The one wait protocol. Every blocking object (Greenlet, Event, AsyncResult, Semaphore,
// Queue, Pool) is a Linkable; whoever waits on it adds a Link and is notified when it
// becomes ready. wait/iwait/joinall work on any Linkable alike.
#pragma once

namespace gevent::detail {

class Linkable;

class Link {
 public:
  Link() = default;
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;
  virtual ~Link() { unlink(); }

  // Called when `source` becomes ready, on whichever greenlet (or the hub) made it ready.
  // Must not block or switch: schedule work instead. It may unlink or destroy itself, but no
  // other link of the same source (notify_links holds on to the next one).
  virtual void notify(Linkable& source) = 0;

  bool linked() const { return source_ != nullptr; }
  void unlink();

 private:
  friend class Linkable;
  Linkable* source_ = nullptr;
  Link* prev_ = nullptr;
  Link* next_ = nullptr;
};

class Linkable {
 public:
  Linkable() = default;
  Linkable(const Linkable&) = delete;
  Linkable& operator=(const Linkable&) = delete;
  virtual ~Linkable();  // unlinks whatever is still linked

  // Whether a wait on this object would return at once.
  virtual bool ready() const = 0;

  // Appends `link` (moving it here if it was linked elsewhere). Links stay linked across
  // notifications until unlinked or destroyed.
  void rawlink(Link& link);
  void unlink(Link& link);
  bool has_links() const { return head_ != nullptr; }
  const Link* last_link() const { return tail_; }

 protected:
  // Notifies the links present now, in the order they were added.
  void notify_links();
  // Unlinks the first link and notifies it; false if there was none.
  bool notify_first();
  // Puts `link` first, ahead of those already waiting.
  void rawlink_front(Link& link);

 private:
  Link* head_ = nullptr;
  Link* tail_ = nullptr;
};

}  // namespace gevent::detail
