#include "data/csv_reader.h"

#include <utility>

#include "data/data_error.h"

namespace clearhouse::data {

CsvReader::CsvReader(std::string_view text, std::string file)
    : text_(text), file_(std::move(file)) {
  // Skip a UTF-8 byte-order mark.
  if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
}

std::string_view CsvReader::parse_quoted(std::size_t& pos) {
  // pos is on the opening quote.
  const std::size_t start = pos + 1;
  std::size_t i = start;
  bool escaped = false;
  while (true) {
    if (i >= text_.size()) {
      throw DataError(file_, row_line_, "", "unterminated quoted field");
    }
    const char c = text_[i];
    if (c == '"') {
      if (i + 1 < text_.size() && text_[i + 1] == '"') {
        escaped = true;
        i += 2;
        continue;
      }
      break;
    }
    if (c == '\n') ++line_;
    ++i;
  }
  std::string_view raw = text_.substr(start, i - start);
  pos = i + 1;  // past the closing quote
  if (!escaped) return raw;
  std::string& out = unescaped_.emplace_back();
  out.reserve(raw.size());
  for (std::size_t k = 0; k < raw.size(); ++k) {
    out.push_back(raw[k]);
    if (raw[k] == '"') ++k;  // skip the second quote of a pair
  }
  return out;
}

bool CsvReader::next_row(std::vector<std::string_view>& fields) {
  fields.clear();
  unescaped_.clear();
  // Skip blank lines.
  while (pos_ < text_.size() && (text_[pos_] == '\n' || text_[pos_] == '\r')) {
    if (text_[pos_] == '\n') ++line_;
    ++pos_;
  }
  if (pos_ >= text_.size()) return false;
  row_line_ = line_;
  std::size_t pos = pos_;
  while (true) {
    if (pos < text_.size() && text_[pos] == '"') {
      fields.push_back(parse_quoted(pos));
      if (pos < text_.size() && text_[pos] != ',' && text_[pos] != '\n' && text_[pos] != '\r') {
        throw DataError(file_, row_line_, "", "unexpected character after a closing quote");
      }
    } else {
      const std::size_t start = pos;
      while (pos < text_.size() && text_[pos] != ',' && text_[pos] != '\n' && text_[pos] != '\r') {
        ++pos;
      }
      fields.push_back(text_.substr(start, pos - start));
    }
    if (pos >= text_.size()) break;
    if (text_[pos] == ',') {
      ++pos;
      continue;
    }
    // End of row: CR, LF or CRLF.
    if (text_[pos] == '\r') ++pos;
    if (pos < text_.size() && text_[pos] == '\n') {
      ++pos;
      ++line_;
    }
    break;
  }
  pos_ = pos;
  return true;
}

}  // namespace clearhouse::data
