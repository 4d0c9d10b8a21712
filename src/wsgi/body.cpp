#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <system_error>

#include "gevent/pywsgi/application.hpp"
#include "sys/libc.hpp"

namespace gevent::pywsgi {

Body Body::file(int fd, off_t offset, std::optional<std::size_t> count) {
  struct stat st;
  if (sys::fstat(fd, &st) != 0) {
    const int err = errno;
    sys::close(fd);
    throw std::system_error(err, std::system_category(), "gevent::pywsgi: Body::file");
  }
  if (offset < 0 || (!count && offset > st.st_size)) {
    sys::close(fd);
    throw std::invalid_argument("gevent::pywsgi: Body::file offset outside the file");
  }
  const std::size_t size = count ? *count : static_cast<std::size_t>(st.st_size - offset);
  return Body(Content(File{fd, offset, size}));
}

Body Body::file(const std::string& path) {
  const int fd = sys::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw std::system_error(errno, std::system_category(), "gevent::pywsgi: cannot open " + path);
  return file(fd);
}

Body& Body::operator=(Body&& other) noexcept {
  if (this != &other) {
    close_file();
    content_ = std::move(other.content_);
    other.content_ = std::monostate{};
  }
  return *this;
}

Body::~Body() { close_file(); }

void Body::close_file() noexcept {
  if (auto* f = std::get_if<File>(&content_)) sys::close(f->fd);
}

}  // namespace gevent::pywsgi
