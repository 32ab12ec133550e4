// read_whole_file: a whole file into memory, the one file reader of the loaders and the ledger.
//
// Contract: returns the file's bytes, or throws FileError whose what() is "PATH: cannot open:
// REASON" or "PATH: read error". Thread-safety: none needed (no shared state).
#pragma once

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace clearhouse::base {

class FileError : public std::runtime_error {
 public:
  FileError(const std::filesystem::path& path, const std::string& reason)
      : std::runtime_error(path.string() + ": " + reason), reason_(reason) {}
  // What went wrong, without the path.
  [[nodiscard]] const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

inline std::string read_whole_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path, std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw FileError(path, "read error");
  return std::move(buffer).str();
}

}  // namespace clearhouse::base
