#include "gevent/detail/link.hpp"

namespace gevent::detail {

void Link::unlink() {
  if (source_) source_->unlink(*this);
}

Linkable::~Linkable() {
  while (head_) unlink(*head_);
}

void Linkable::rawlink(Link& link) {
  if (link.source_) link.source_->unlink(link);
  link.source_ = this;
  link.prev_ = tail_;
  link.next_ = nullptr;
  if (tail_)
    tail_->next_ = &link;
  else
    head_ = &link;
  tail_ = &link;
}

void Linkable::rawlink_front(Link& link) {
  if (link.source_) link.source_->unlink(link);
  link.source_ = this;
  link.prev_ = nullptr;
  link.next_ = head_;
  if (head_)
    head_->prev_ = &link;
  else
    tail_ = &link;
  head_ = &link;
}

bool Linkable::notify_first() {
  Link* first = head_;
  if (!first) return false;
  unlink(*first);
  first->notify(*this);
  return true;
}

void Linkable::unlink(Link& link) {
  if (link.source_ != this) return;
  if (link.prev_)
    link.prev_->next_ = link.next_;
  else
    head_ = link.next_;
  if (link.next_)
    link.next_->prev_ = link.prev_;
  else
    tail_ = link.prev_;
  link.source_ = nullptr;
  link.prev_ = link.next_ = nullptr;
}

void Linkable::notify_links() {
  Link* const last = tail_;
  for (Link* link = head_; link;) {
    Link* next = link->next_;
    const bool was_last = link == last;
    link->notify(*this);
    if (was_last) break;
    link = next;
  }
}

}  // namespace gevent::detail
