// CsvReader: a small RFC 4180 reader over a whole file held in memory.
//
// Fields are separated by commas; a field may be quoted with '"' (a doubled '"' inside is one
// quote, and a quoted field may span lines). Rows end at LF or CRLF. Blank lines are skipped. Each
// row reports the 1-based line it starts on, so errors can name it. Fields are string_views valid
// until the next call to next_row(). Not thread-safe; cheap: the 3.6 MB runs.csv splits in a few
// milliseconds.
//
//   CsvReader reader(text, "runs.csv");
//   std::vector<std::string_view> fields;
//   while (reader.next_row(fields)) { ... reader.line() ... }
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace clearhouse::data {

class CsvReader {
 public:
  // `text` must outlive the reader; `file` names it in errors.
  CsvReader(std::string_view text, std::string file);

  // Reads the next non-blank row into `fields`; false at end of input. Throws DataError on an
  // unterminated quote or characters after a closing quote.
  bool next_row(std::vector<std::string_view>& fields);

  // 1-based line on which the row last returned by next_row() starts.
  std::size_t line() const { return row_line_; }
  const std::string& file() const { return file_; }

 private:
  std::string_view parse_quoted(std::size_t& pos);

  std::string_view text_;
  std::string file_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;      // line of text_[pos_]
  std::size_t row_line_ = 0;  // line where the current row starts
  std::deque<std::string>
      unescaped_;  // storage for quoted fields with "" escapes (stable addresses)
};

}  // namespace clearhouse::data
