#include "gevent/detail/hub_bound.hpp"

namespace gevent::detail {

void HubBoundList::attach(HubBound& node) {
  if (node.attached_) return;
  list_.push_front(node);
  node.attached_ = true;
}

void HubBoundList::detach(HubBound& node) {
  if (!node.attached_) return;
  list_.erase(node);
  node.attached_ = false;
}

void HubBoundList::close_all() {
  while (HubBound* node = list_.front()) {
    detach(*node);
    node->hub_closing();
  }
}

}  // namespace gevent::detail
