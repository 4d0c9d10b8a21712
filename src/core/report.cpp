#include "core/report.hpp"

#include "gevent/exceptions.hpp"
#include "gevent/timeout.hpp"

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <typeinfo>

namespace gevent::detail {
namespace {

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && name ? name.get() : mangled;
}

}  // namespace

std::string describe(std::exception_ptr exception) {
  try {
    std::rethrow_exception(exception);
  } catch (const std::exception& e) {
    return demangle(typeid(e).name()) + ": " + e.what();
  } catch (const Timeout& e) {
    return e.what();
  } catch (const GreenletExit& e) {
    return e.what();
  } catch (...) {
    const std::type_info* type = abi::__cxa_current_exception_type();
    return type ? demangle(type->name()) : std::string("unknown exception");
  }
}

void report_exception(const std::string& where, std::exception_ptr exception) {
  std::fprintf(stderr, "gevent: %s failed with %s\n", where.c_str(), describe(exception).c_str());
}

}  // namespace gevent::detail
