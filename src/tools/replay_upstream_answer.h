// The pure arithmetic of the replay upstream: cutting a recorded answer at a token cap, splitting
// the answer into stream pieces of about one token each, estimating prompt tokens, the fallback
// text for unknown prompts. No I/O, no clocks.
//
// Tokens are not re-counted (the tokenizer is not at hand): a recorded answer of d tokens and n
// characters is taken to spend n/d characters per token evenly, so a cap c < d keeps the first
// round(n·c/d) characters and reports exactly c completion tokens (finish_reason "length"). The
// recorded count d is reported when the answer is not cut (finish_reason "stop").
//
//   ReplayAnswer a = cut_answer(record.output, record.output_tokens, effective_cap(256,
//   std::nullopt)); for (const StreamPiece& p : split_into_pieces(a.text, a.completion_tokens))
//   send(p.text);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace clearhouse::tools {

struct ReplayAnswer {
  std::string text;
  std::int64_t completion_tokens = 0;
  bool cut = false;  // cut at the cap
  [[nodiscard]] std::string_view finish_reason() const { return cut ? "length" : "stop"; }
};

// The cap a request sets: the smaller of max_tokens and max_completion_tokens, either may be
// absent.
std::optional<std::int64_t> effective_cap(std::optional<std::int64_t> max_tokens,
                                          std::optional<std::int64_t> max_completion_tokens);

// `output` (output_tokens tokens) as served under `cap` (nullopt: no cap; otherwise >= 0).
ReplayAnswer cut_answer(std::string_view output, std::int64_t output_tokens,
                        std::optional<std::int64_t> cap);

// Continuation: the request carries `prefix`, the start of an answer it already has. When `output`
// begins with `prefix` and the prefix is exactly the text of a cut at some a tokens (as served by
// cut_answer, so a runner's own earlier slices always match), the answer is the rest: the text from
// a tokens to a + cap tokens, min(cap, output_tokens - a) tokens, cut iff a + cap < output_tokens.
// So an answer continued in slices yields exactly the whole answer's tokens. nullopt when the
// prefix does not match (the caller then serves a new answer from the start).
std::optional<ReplayAnswer> continue_answer(std::string_view output, std::int64_t output_tokens,
                                            std::string_view prefix,
                                            std::optional<std::int64_t> cap);

// A piece of the answer sent in one stream chunk; `tokens_end` is the number of completion tokens
// generated once this piece is out (cumulative, the last piece's equals the answer's count).
struct StreamPiece {
  std::string_view text;
  std::int64_t tokens_end = 0;
};

// Splits `text` (worth `tokens` tokens) into min(tokens, code points) pieces of nearly equal
// length, never inside a UTF-8 sequence: about one token per piece, as a real server streams. An
// empty text gives no piece.
std::vector<StreamPiece> split_into_pieces(std::string_view text, std::int64_t tokens);

// Byte offset of the code point with index `n` (the text's size if it has n or fewer code points).
std::size_t code_point_offset(std::string_view text, std::int64_t n);

// Prompt tokens estimated from the characters of the prompt: ceil(chars / chars_per_token) plus
// `overhead_per_message` per chat message (role markers of chat templates).
inline constexpr std::int64_t kChatMessageOverheadTokens = 4;
std::int64_t estimate_prompt_tokens(std::int64_t chars, std::int64_t messages,
                                    double chars_per_token);

// Reasoning mode: of `tokens` generated tokens, round(share · tokens) are reported as reasoning
// (share in [0, 1]). The share is of what was generated, so a cut answer reports the share of its
// cap, and a stream's running count grows with it.
std::int64_t reasoning_tokens_of(double share, std::int64_t tokens);

// The deterministic answer to an unknown prompt: `words` lorem-ipsum words, counted as one token
// each.
std::string lorem_text(std::int64_t words);

}  // namespace clearhouse::tools
