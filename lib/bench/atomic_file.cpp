#include "ortkit/bench/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "ortkit/error.h"

namespace ortkit::bench {

namespace {
std::string temp_name(const std::string& path) {
  return path + ".tmp." + std::to_string(getpid());
}
}  // namespace

void write_file_atomic(const std::string& path, const std::string& content) {
  std::string tmp = temp_name(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(std::string("cannot write: ") + std::strerror(errno), path);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error(std::string("cannot write: ") + std::strerror(e), path);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw Error(std::string("cannot write: ") + std::strerror(e), path);
  }
}

void check_writable(const std::string& path) {
  if (std::filesystem::is_directory(path)) throw Error("is a directory, expected a file name", path);
  std::string tmp = temp_name(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(std::string("cannot write: ") + std::strerror(errno), path);
  ::close(fd);
  ::unlink(tmp.c_str());
}

}  // namespace ortkit::bench
