#include "tools/replay_upstream_stream.h"

#include <chrono>

#include "http/sse.h"

namespace clearhouse::tools {
namespace {

using nlohmann::json;

bool write_json(http::BodyWriter& out, const json& chunk) {
  return out.write(http::sse_data(chunk.dump()));
}

// Waits until the piece ending at `tokens_end` is due.
void pace(const StreamPlan& plan, PacingClock::Duration start, std::int64_t tokens_end) {
  if (plan.tokens_per_second <= 0) return;
  const auto offset =
      std::chrono::duration<double>(static_cast<double>(tokens_end) / plan.tokens_per_second);
  plan.clock->wait_until(start + std::chrono::duration_cast<PacingClock::Duration>(offset));
}

// A chat or completions chunk with usage as the shape has it, `tokens` being generated so far.
json chunk_with_usage(const StreamPlan& plan, std::string_view text, std::string_view finish,
                      std::int64_t tokens, bool role_chunk = false) {
  const bool openai = plan.usage_shape == UsageShape::kOpenAI;
  json chunk = stream_chunk(plan.kind, plan.identity, text, finish, openai && plan.include_usage,
                            role_chunk);
  if (plan.usage_shape == UsageShape::kVllmContinuous ||
      (plan.usage_shape == UsageShape::kLlamaCpp && !finish.empty())) {
    chunk["usage"] = usage_json(plan.usage_after(tokens));
  }
  return chunk;
}

bool run_chunk_stream(const StreamPlan& plan, http::BodyWriter& out) {
  if (plan.kind == ApiKind::kChat &&
      !write_json(out, chunk_with_usage(plan, "", "", 0, /*role_chunk=*/true))) {
    return false;
  }
  const auto pieces = split_into_pieces(plan.answer.text, plan.answer.completion_tokens);
  const PacingClock::Duration start = plan.clock->now();
  std::int64_t sent = 0;
  for (const StreamPiece& piece : pieces) {
    if (plan.close_after && sent == *plan.close_after) return false;
    pace(plan, start, piece.tokens_end);
    if (!write_json(out, chunk_with_usage(plan, piece.text, "", piece.tokens_end))) return false;
    ++sent;
  }
  if (plan.close_after) return false;  // fewer chunks than close-after: drop before the end
  const std::int64_t total = plan.answer.completion_tokens;
  if (!write_json(out, chunk_with_usage(plan, "", plan.answer.finish_reason(), total))) {
    return false;
  }
  const bool usage_chunk_due =
      plan.include_usage &&
      (plan.usage_shape == UsageShape::kOpenAI || plan.usage_shape == UsageShape::kVllmContinuous);
  if (usage_chunk_due && !write_json(out, usage_chunk(plan.kind, plan.identity, plan.usage()))) {
    return false;
  }
  return out.write(http::kSseDone);
}

bool write_events(http::BodyWriter& out, const std::vector<json>& events) {
  for (const json& e : events) {
    if (!out.write(sse_event(e))) return false;
  }
  return true;
}

bool run_response_stream(const StreamPlan& plan, http::BodyWriter& out) {
  ResponseEvents events(plan.response_identity, plan.response_outcome());
  if (!write_events(out, events.opening())) return false;
  const auto pieces = split_into_pieces(plan.answer.text, plan.answer.completion_tokens);
  const PacingClock::Duration start = plan.clock->now();
  std::int64_t sent = 0;
  for (const StreamPiece& piece : pieces) {
    if (plan.close_after && sent == *plan.close_after) return false;
    pace(plan, start, piece.tokens_end);
    if (!out.write(sse_event(events.delta(piece.text)))) return false;
    ++sent;
  }
  if (plan.close_after) return false;
  return write_events(out, events.closing(plan.answer.text));
}

}  // namespace

Usage StreamPlan::usage_after(std::int64_t tokens) const {
  Usage u{prompt_tokens, tokens};
  if (reasoning_share > 0) u.reasoning_tokens = reasoning_tokens_of(reasoning_share, tokens);
  return u;
}

ResponseOutcome StreamPlan::response_outcome() const {
  ResponseOutcome o;
  o.incomplete = answer.cut;
  o.reasoning_item = reasoning_item;
  if (usage_shape != UsageShape::kNone) o.usage = usage();
  return o;
}

bool run_stream(const StreamPlan& plan, http::BodyWriter& out) {
  return plan.kind == ApiKind::kResponses ? run_response_stream(plan, out)
                                          : run_chunk_stream(plan, out);
}

}  // namespace clearhouse::tools
