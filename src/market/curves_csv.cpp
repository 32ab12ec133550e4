#include "market/curves_csv.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

#include "market/tolerances.h"

namespace clearhouse::market {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::optional<double> parse_number(std::string_view s) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double value = 0.0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::string number(double v) {
  std::array<char, 32> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  (void)ec;
  return std::string(buf.data(), end);
}

std::string quote_if_needed(const std::string& s) {
  if (s.find_first_of(",\"") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

constexpr std::array<std::string_view, 5> kColumns = {"provider", "price_per_mtok", "theta",
                                                      "accuracy", "tokens"};

}  // namespace

bool split_csv_line(std::string_view line, std::vector<std::string>& fields) {
  fields.clear();
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back(trim(field));
      field.clear();
    } else {
      field += c;
    }
  }
  if (quoted) return false;
  fields.emplace_back(trim(field));
  return true;
}

CurvesParse parse_curves_csv(std::string_view text, std::string_view source) {
  CurvesParse out;
  const std::string src(source);
  auto fail = [&](std::size_t line, const std::string& what) {
    out.providers.clear();
    out.error = src + " line " + std::to_string(line) + ": " + what;
    return out;
  };

  std::array<std::size_t, kColumns.size()> column{};
  std::size_t header_fields = 0;
  bool have_header = false;
  std::vector<std::string> fields;
  // Per provider: first line, last line, and where the previous row's price came from.
  std::map<std::string, std::size_t> seen;  // provider -> index in out.providers
  std::vector<std::size_t> first_line;
  std::vector<std::size_t> last_line;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t nl = text.find('\n', pos);
    const std::string_view raw =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = (nl == std::string_view::npos) ? text.size() + 1 : nl + 1;
    ++line_no;
    const std::string_view line = trim(raw);
    if (line.empty()) continue;
    if (!split_csv_line(line, fields)) return fail(line_no, "unterminated double quote");
    if (!have_header) {
      have_header = true;
      header_fields = fields.size();
      for (std::size_t c = 0; c < kColumns.size(); ++c) {
        std::size_t found = fields.size();
        for (std::size_t f = 0; f < fields.size(); ++f) {
          if (fields[f] == kColumns[c]) found = f;
        }
        if (found == fields.size()) {
          return fail(line_no, "missing column '" + std::string(kColumns[c]) +
                                   "' (the header must name " + std::string(kCurvesHeader) + ")");
        }
        column[c] = found;
      }
      continue;
    }
    if (fields.size() != header_fields) {
      return fail(line_no, "expected " + std::to_string(header_fields) + " fields, got " +
                               std::to_string(fields.size()));
    }
    const std::string& name = fields[column[0]];
    if (name.empty()) return fail(line_no, "empty provider name");
    std::array<double, 4> v{};
    for (std::size_t c = 1; c < kColumns.size(); ++c) {
      const std::optional<double> x = parse_number(fields[column[c]]);
      if (!x) {
        return fail(line_no, "field '" + std::string(kColumns[c]) + "' is not a finite number: '" +
                                 fields[column[c]] + "'");
      }
      v[c - 1] = *x;
    }
    const auto [price, theta, accuracy, tokens] = v;
    const std::string who = " (provider '" + name + "')";
    if (price < 0.0) return fail(line_no, "negative price_per_mtok " + number(price) + who);
    if (accuracy < -kAccuracySlack || accuracy > 1.0 + kAccuracySlack) {
      return fail(line_no, "accuracy " + number(accuracy) + " outside [0, 1]" + who);
    }
    if (tokens < 0.0) return fail(line_no, "negative tokens " + number(tokens) + who);
    const double clamped = std::clamp(accuracy, 0.0, 1.0);

    auto it = seen.find(name);
    if (it == seen.end()) {
      it = seen.emplace(name, out.providers.size()).first;
      out.providers.push_back(Provider{name, price, {}});
      first_line.push_back(line_no);
      last_line.push_back(line_no);
    } else {
      const std::size_t k = it->second;
      if (k + 1 != out.providers.size()) {
        return fail(line_no, "provider '" + name + "' reappears after other providers (lines " +
                                 std::to_string(first_line[k]) + "-" +
                                 std::to_string(last_line[k]) +
                                 "); one provider's rows must be contiguous");
      }
      const Provider& p = out.providers[k];
      if (price != p.usd_per_mtok) {
        return fail(line_no, "price_per_mtok " + number(price) + " differs from " +
                                 number(p.usd_per_mtok) + " on line " +
                                 std::to_string(first_line[k]) + who);
      }
      if (!(theta > p.levels.back().theta)) {
        return fail(line_no, "theta " + number(theta) + " is not greater than the previous " +
                                 number(p.levels.back().theta) + who +
                                 "; rows must be in strictly increasing theta");
      }
      last_line[k] = line_no;
    }
    out.providers[it->second].levels.push_back(ComputeLevel{theta, clamped, tokens});
  }
  if (!have_header) {
    out.error = src + ": empty file (expected the header " + std::string(kCurvesHeader) + ")";
    return out;
  }
  if (out.providers.empty()) {
    out.error = src + ": no data rows after the header";
    return out;
  }
  const std::size_t levels = out.providers.front().levels.size();
  for (std::size_t k = 1; k < out.providers.size(); ++k) {
    if (out.providers[k].levels.size() != levels) {
      const std::size_t k_short =
          out.providers[k].levels.size() < levels ? k : 0;  // name the row of the shorter one
      return fail(last_line[k_short],
                  "provider '" + out.providers[k].name + "' has " +
                      std::to_string(out.providers[k].levels.size()) + " theta levels (lines " +
                      std::to_string(first_line[k]) + "-" + std::to_string(last_line[k]) +
                      ") but provider '" + out.providers.front().name + "' has " +
                      std::to_string(levels) + "; every provider needs the same levels");
    }
  }
  if (out.providers.size() < 2) {
    return fail(first_line.front(), "only one provider ('" + out.providers.front().name +
                                        "'); the market and the auction need at least two");
  }
  return out;
}

std::string format_curves_csv(const std::vector<Provider>& providers) {
  std::string out(kCurvesHeader);
  out += '\n';
  for (const Provider& p : providers) {
    for (const ComputeLevel& l : p.levels) {
      out += quote_if_needed(p.name) + ',' + number(p.usd_per_mtok) + ',' + number(l.theta) + ',' +
             number(l.accuracy) + ',' + number(l.tokens) + '\n';
    }
  }
  return out;
}

}  // namespace clearhouse::market
