// Reporting errors nobody else will see, on stderr, as gevent's hub.handle_error does.
#pragma once

#include <exception>
#include <string>

namespace gevent::detail {

// "TypeName: what()" for an exception; demangled type name.
std::string describe(std::exception_ptr exception);

// Prints "gevent: <where> failed with <describe(exception)>".
void report_exception(const std::string& where, std::exception_ptr exception);

}  // namespace gevent::detail
