#include "tools/replay_upstream_answer.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "base/utf8.h"
#include "tools/replay_upstream_store.h"  // kDefaultCharsPerToken

namespace clearhouse::tools {

std::int64_t reasoning_tokens_of(double share, std::int64_t tokens) {
  const auto r = std::llround(std::clamp(share, 0.0, 1.0) * static_cast<double>(tokens));
  return std::clamp<std::int64_t>(r, 0, std::max<std::int64_t>(0, tokens));
}

std::optional<std::int64_t> effective_cap(std::optional<std::int64_t> max_tokens,
                                          std::optional<std::int64_t> max_completion_tokens) {
  if (max_tokens && max_completion_tokens) return std::min(*max_tokens, *max_completion_tokens);
  return max_tokens ? max_tokens : max_completion_tokens;
}

std::size_t code_point_offset(std::string_view text, std::int64_t n) {
  std::int64_t seen = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0u) != 0x80u) {
      if (seen == n) return i;
      ++seen;
    }
  }
  return text.size();
}

ReplayAnswer cut_answer(std::string_view output, std::int64_t output_tokens,
                        std::optional<std::int64_t> cap) {
  ReplayAnswer answer;
  if (!cap || *cap >= output_tokens) {
    answer.text = std::string(output);
    answer.completion_tokens = output_tokens;
    return answer;
  }
  const std::int64_t keep_tokens = std::max<std::int64_t>(0, *cap);
  const std::int64_t chars = base::count_code_points(output);
  const auto keep_chars = static_cast<std::int64_t>(
      std::llround(static_cast<double>(chars) * static_cast<double>(keep_tokens) /
                   static_cast<double>(output_tokens)));
  answer.text = std::string(output.substr(0, code_point_offset(output, keep_chars)));
  answer.completion_tokens = keep_tokens;
  answer.cut = true;
  return answer;
}

std::optional<ReplayAnswer> continue_answer(std::string_view output, std::int64_t output_tokens,
                                            std::string_view prefix,
                                            std::optional<std::int64_t> cap) {
  if (output_tokens <= 0 || output.substr(0, prefix.size()) != prefix) return std::nullopt;
  const std::int64_t chars = base::count_code_points(output);
  const std::int64_t prefix_chars = base::count_code_points(prefix);
  if (chars == 0) return std::nullopt;
  const auto guess = static_cast<std::int64_t>(
      std::llround(static_cast<double>(prefix_chars) * static_cast<double>(output_tokens) /
                   static_cast<double>(chars)));
  std::optional<std::int64_t> done;  // tokens the prefix stands for
  for (std::int64_t a = std::max<std::int64_t>(0, guess - 1);
       a <= std::min(output_tokens, guess + 1) && !done; ++a) {
    if (cut_answer(output, output_tokens, a).text.size() == prefix.size()) done = a;
  }
  if (!done) return std::nullopt;
  const std::int64_t left = output_tokens - *done;
  const std::optional<std::int64_t> until =
      cap ? std::optional<std::int64_t>(*done + *cap) : std::nullopt;
  ReplayAnswer whole = cut_answer(output, output_tokens, until);
  ReplayAnswer rest;
  rest.text = whole.text.size() > prefix.size() ? whole.text.substr(prefix.size()) : std::string();
  rest.completion_tokens = cap ? std::min(*cap, left) : left;
  rest.cut = whole.cut;
  return rest;
}

std::vector<StreamPiece> split_into_pieces(std::string_view text, std::int64_t tokens) {
  std::vector<StreamPiece> pieces;
  const std::int64_t chars = base::count_code_points(text);
  if (chars == 0) return pieces;
  const std::int64_t n = std::max<std::int64_t>(1, std::min(tokens, chars));
  pieces.reserve(static_cast<std::size_t>(n));
  // Byte offset of every code point, so each boundary is a lookup.
  std::vector<std::size_t> starts;
  starts.reserve(static_cast<std::size_t>(chars) + 1);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0u) != 0x80u) starts.push_back(i);
  }
  starts.push_back(text.size());
  for (std::int64_t i = 0; i < n; ++i) {
    const auto begin = starts[static_cast<std::size_t>(i * chars / n)];
    const auto end = starts[static_cast<std::size_t>((i + 1) * chars / n)];
    pieces.push_back(StreamPiece{text.substr(begin, end - begin),
                                 std::max<std::int64_t>(0, tokens) * (i + 1) / n});
  }
  return pieces;
}

std::int64_t estimate_prompt_tokens(std::int64_t chars, std::int64_t messages,
                                    double chars_per_token) {
  const double per_token = chars_per_token > 0 ? chars_per_token : kDefaultCharsPerToken;
  return static_cast<std::int64_t>(std::ceil(static_cast<double>(chars) / per_token)) +
         kChatMessageOverheadTokens * messages;
}

std::string lorem_text(std::int64_t words) {
  static constexpr std::array<std::string_view, 24> kWords = {
      "lorem",  "ipsum", "dolor",   "sit",    "amet",       "consectetur", "adipiscing", "elit",
      "sed",    "do",    "eiusmod", "tempor", "incididunt", "ut",          "labore",     "et",
      "dolore", "magna", "aliqua",  "enim",   "ad",         "minim",       "veniam",     "quis"};
  std::string text;
  for (std::int64_t i = 0; i < words; ++i) {
    if (i > 0) text += ' ';
    text += kWords[static_cast<std::size_t>(i) % kWords.size()];
  }
  if (!text.empty()) {
    text.front() = 'L';
    text += '.';
  }
  return text;
}

}  // namespace clearhouse::tools
