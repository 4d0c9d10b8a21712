// Something that keeps loop watchers between waits (a socket keeps one per direction).
// Watchers must be destroyed before their loop, so a hub tells every HubBound attached to it
// to drop them when the hub itself is destroyed.
#pragma once

#include "gevent/detail/intrusive_list.hpp"

namespace gevent::detail {

class HubBound {
 public:
  HubBound() = default;
  HubBound(const HubBound&) = delete;
  HubBound& operator=(const HubBound&) = delete;

  // Releases whatever belongs to the hub's loop. Called once, from ~Hub(), after the
  // hub's greenlets are gone and before its loop is destroyed; the node is detached first.
  virtual void hub_closing() = 0;

 protected:
  ~HubBound() = default;

 private:
  friend class HubBoundList;
  ListHook<HubBound> hook_;
  bool attached_ = false;
};

// The hub's list of HubBound objects; intrusive, no allocation.
class HubBoundList {
 public:
  void attach(HubBound& node);
  void detach(HubBound& node);
  // Detaches every node and calls its hub_closing().
  void close_all();

 private:
  IntrusiveList<HubBound, &HubBound::hook_> list_;
};

}  // namespace gevent::detail
