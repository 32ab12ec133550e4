// The output file of `clearhouse run`: JSON lines appended whole, so a crash never leaves a line
// that a reader would take as complete.
//
// append() writes a batch of lines with one write loop and then fsync()s, so after it returns the
// lines survive a crash; a crash during the write can leave at most a torn last line (no '\n'),
// which open() removes (truncates the file to its last '\n') before appending anything. open() also
// reports the custom_id of every whole line already there, so a resumed run does not write a query
// twice. I/O: POSIX open/write/fsync/ftruncate. Thread-safety: none (one owner).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

namespace clearhouse::run {

class OutputFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class OutputFile {
 public:
  // Opens (creating) path for appending; throws OutputFileError naming the path and the reason.
  explicit OutputFile(std::string path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Appends each line plus '\n' (lines must not contain '\n'), then fsyncs. Throws OutputFileError.
  void append(const std::vector<std::string>& lines);

  // custom_id of the whole lines found at open (lines without one are ignored).
  [[nodiscard]] const std::unordered_set<std::string>& existing_ids() const { return existing_; }
  // Bytes of a torn last line removed at open (0 when the file ended cleanly).
  [[nodiscard]] std::size_t truncated_bytes() const { return truncated_; }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::unordered_set<std::string> existing_;
  std::size_t truncated_ = 0;
};

}  // namespace clearhouse::run
