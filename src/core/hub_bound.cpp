#include "gevent/detail/hub_bound.hpp"

namespace gevent::detail {

void HubBoundList::attach(HubBound& node) {
  if (node.attached_) return;
  node.prev_ = nullptr;
  node.next_ = head_;
  if (head_) head_->prev_ = &node;
  head_ = &node;
  node.attached_ = true;
}

void HubBoundList::detach(HubBound& node) {
  if (!node.attached_) return;
  if (node.prev_)
    node.prev_->next_ = node.next_;
  else
    head_ = node.next_;
  if (node.next_) node.next_->prev_ = node.prev_;
  node.prev_ = node.next_ = nullptr;
  node.attached_ = false;
}

void HubBoundList::close_all() {
  while (HubBound* node = head_) {
    detach(*node);
    node->hub_closing();
  }
}

}  // namespace gevent::detail
