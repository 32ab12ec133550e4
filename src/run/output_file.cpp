#include "run/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace clearhouse::run {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw OutputFileError(path + ": " + what + ": " + std::strerror(errno));
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

OutputFile::OutputFile(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(path_, "cannot open");
  const std::string text = read_all(path_);
  const std::size_t whole = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
  if (whole < text.size()) {
    truncated_ = text.size() - whole;
    if (::ftruncate(fd_, static_cast<off_t>(whole)) != 0)
      fail(path_, "cannot truncate a torn line");
  }
  if (::lseek(fd_, 0, SEEK_END) < 0) fail(path_, "cannot seek");
  std::size_t start = 0;
  while (start < whole) {
    const std::size_t end = text.find('\n', start);
    const auto line = nlohmann::json::parse(text.substr(start, end - start), nullptr, false);
    if (line.is_object() && line.contains("custom_id") && line["custom_id"].is_string()) {
      existing_.insert(line["custom_id"].get<std::string>());
    }
    start = end + 1;
  }
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
}

void OutputFile::append(const std::vector<std::string>& lines) {
  if (lines.empty()) return;
  std::string buffer;
  for (const std::string& line : lines) {
    buffer += line;
    buffer += '\n';
  }
  std::size_t written = 0;
  while (written < buffer.size()) {
    const ssize_t n = ::write(fd_, buffer.data() + written, buffer.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path_, "cannot write");
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd_) != 0) fail(path_, "cannot fsync");
}

}  // namespace clearhouse::run
