// The streams of the replay upstream: everything a stream needs once the handler has returned
// (StreamPlan, owned by the producer), and the producer that writes it, paced on a PacingClock.
// Chat and completions streams send OpenAI's chunks with usage in the plan's UsageShape
// (replay_upstream_format.h); responses streams send typed events (replay_upstream_responses.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "http/http.h"
#include "tools/replay_upstream.h"
#include "tools/replay_upstream_answer.h"
#include "tools/replay_upstream_format.h"
#include "tools/replay_upstream_responses.h"

namespace clearhouse::tools {

struct StreamPlan {
  ApiKind kind = ApiKind::kChat;
  CompletionIdentity identity;         // chat and completions
  ResponseIdentity response_identity;  // responses
  ReplayAnswer answer;
  std::int64_t prompt_tokens = 0;
  double reasoning_share = 0;                    // > 0: usage reports reasoning tokens
  bool reasoning_item = false;                   // responses: a reasoning output item
  UsageShape usage_shape = UsageShape::kOpenAI;  // kNone also for the no-usage fault
  bool include_usage = false;
  std::optional<std::int64_t> close_after;
  double tokens_per_second = 0;
  std::shared_ptr<PacingClock> clock;

  // The usage once `tokens` completion tokens are out (the whole answer's: usage_after(
  // answer.completion_tokens)).
  [[nodiscard]] Usage usage_after(std::int64_t tokens) const;
  [[nodiscard]] Usage usage() const { return usage_after(answer.completion_tokens); }
  // What a responses answer says besides its text.
  [[nodiscard]] ResponseOutcome response_outcome() const;
};

// Writes the stream; false when the client went away or a close-after fault dropped it.
bool run_stream(const StreamPlan& plan, http::BodyWriter& out);

}  // namespace clearhouse::tools
