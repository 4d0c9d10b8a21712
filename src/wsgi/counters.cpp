#include "gevent/pywsgi/counters.hpp"

#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <utility>

namespace gevent::pywsgi {
namespace {

void add_metric(std::string& out, const char* name, const char* type, const char* help,
                const std::string& labels, std::uint64_t value) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
  out += name;
  out += labels;
  out += ' ';
  out += std::to_string(value);
  out += '\n';
}

}  // namespace

std::string format_prometheus(const HubCounters& c, long thread_id) {
  const std::string labels = "{thread=\"" + std::to_string(thread_id) + "\"}";
  std::string out;
  add_metric(out, "gevent_switches_total", "counter", "Switches into a greenlet.", labels,
             c.switches);
  add_metric(out, "gevent_loop_iterations_total", "counter", "Turns of the hub's run loop.", labels,
             c.loop_iterations);
  add_metric(out, "gevent_greenlets_started_total", "counter", "Greenlets started.", labels,
             c.greenlets_started);
  add_metric(out, "gevent_greenlets_finished_total", "counter", "Started greenlets that ended.",
             labels, c.greenlets_finished);
  add_metric(out, "gevent_greenlets_alive", "gauge", "Greenlets started and not ended.", labels,
             c.greenlets_alive);
  add_metric(out, "gevent_ready", "gauge", "Greenlets and callbacks queued to run now.", labels,
             c.ready);
  add_metric(out, "gevent_timers", "gauge", "Pending timers.", labels, c.timers);
  add_metric(out, "gevent_blocked_incidents_total", "counter",
             "Times the monitor thread found the hub blocked.", labels, c.blocked_incidents);
  add_metric(out, "gevent_blocked_milliseconds_total", "counter",
             "Time of the blocked incidents that ended.", labels,
             static_cast<std::uint64_t>(
                 std::chrono::duration_cast<std::chrono::milliseconds>(c.time_blocked).count()));
  return out;
}

Application with_counters(Application app, std::string path) {
  if (!app) throw std::invalid_argument("gevent::pywsgi::with_counters: an empty application");
  if (path.empty() || path.front() != '/')
    throw std::invalid_argument(
        "gevent::pywsgi::with_counters: the path must start with '/', got '" + path + "'");
  return [app = std::move(app), path = std::move(path)](Environ& env,
                                                        StartResponse& start_response) -> Body {
    if (env.path_info() != path || (env.method() != "GET" && env.method() != "HEAD"))
      return app(env, start_response);
    start_response("200 OK", {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}});
    return format_prometheus(hub_counters(), static_cast<long>(::gettid()));
  };
}

}  // namespace gevent::pywsgi
