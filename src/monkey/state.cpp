// The patched parts, and what gevent::monkey answers about them.
#include <array>
#include <string_view>
#include <utility>

#include "gevent/monkey.hpp"
#include "monkey/state.hpp"
#include "sys/libc.hpp"

namespace gevent::monkey {
namespace detail {

std::atomic<unsigned> patched_modules{0};

void patch(Module module) {
  Hub::current();  // the main greenlet's hub: hooked calls from main() wait on it
  patched_modules.fetch_or(module, std::memory_order_relaxed);
}

void unpatch(unsigned modules) { patched_modules.fetch_and(~modules, std::memory_order_relaxed); }

namespace {

constexpr std::pair<std::string_view, Module> kModules[] = {
    {"socket", kSocket}, {"select", kSelect}, {"time", kTime},
    {"dns", kDns},       {"os", kOs},         {"signal", kSignal}};

// Every hooked function and its part (docs/monkey.md has the same list, with what each does).
constexpr std::pair<std::string_view, Module> kHooked[] = {
    {"read", kSocket},
    {"readv", kSocket},
    {"write", kSocket},
    {"writev", kSocket},
    {"recv", kSocket},
    {"recvfrom", kSocket},
    {"recvmsg", kSocket},
    {"send", kSocket},
    {"sendto", kSocket},
    {"sendmsg", kSocket},
    {"connect", kSocket},
    {"accept", kSocket},
    {"accept4", kSocket},
    {"sendmmsg", kSocket},
    {"recvmmsg", kSocket},
    {"sendfile", kSocket},
    {"sendfile64", kSocket},
    {"close", kSocket},
    {"dup2", kSocket},
    {"dup3", kSocket},
    {"__read_chk", kSocket},
    {"__recv_chk", kSocket},
    {"__recvfrom_chk", kSocket},
    {"poll", kSelect},
    {"ppoll", kSelect},
    {"select", kSelect},
    {"pselect", kSelect},
    {"epoll_wait", kSelect},
    {"epoll_pwait", kSelect},
    {"epoll_pwait2", kSelect},
    {"__poll_chk", kSelect},
    {"__ppoll_chk", kSelect},
    {"sleep", kTime},
    {"usleep", kTime},
    {"nanosleep", kTime},
    {"clock_nanosleep", kTime},
    {"getaddrinfo", kDns},
    {"getnameinfo", kDns},
    {"gethostbyname", kDns},
    {"gethostbyname2", kDns},
    {"gethostbyaddr", kDns},
    {"gethostbyname_r", kDns},
    {"gethostbyname2_r", kDns},
    {"gethostbyaddr_r", kDns},
    {"fork", kOs},
    {"waitpid", kOs},
    {"wait4", kOs},
    {"waitid", kOs},
    {"signal", kSignal},
    {"sigaction", kSignal},
};

template <std::size_t N>
unsigned find(const std::pair<std::string_view, Module> (&table)[N], std::string_view name) {
  for (const auto& [key, module] : table)
    if (key == name) return module;
  return 0;
}

}  // namespace
}  // namespace detail

bool is_patched(std::string_view name) {
  return detail::patched(detail::find(detail::kHooked, name));
}

bool is_module_patched(std::string_view module) {
  return detail::patched(detail::find(detail::kModules, module));
}

void* get_original(std::string_view name) { return sys::original(name); }

void patch_all() {
  patch_socket();
  patch_select();
  patch_time();
  patch_dns();
  patch_os();
  patch_signal();
}

}  // namespace gevent::monkey
