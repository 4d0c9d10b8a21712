// The hub's counters (gevent::HubCounters) for a metrics scraper, in Prometheus' text format.
//
//   gevent::pywsgi::WSGIServer server{"127.0.0.1:8000",
//                                     gevent::pywsgi::with_counters(app, "/metrics")};
//
// A GET or HEAD of `path` answers the counters of the hub serving it (each thread's hub its
// own, labelled with the kernel's thread id); every other request goes to `app`.
#pragma once

#include <string>

#include "gevent/hub.hpp"
#include "gevent/pywsgi/application.hpp"

namespace gevent::pywsgi {

Application with_counters(Application app, std::string path = "/metrics");

// The counters as Prometheus' text exposition format (version 0.0.4), labelled thread="tid".
std::string format_prometheus(const HubCounters& counters, long thread_id);

}  // namespace gevent::pywsgi
