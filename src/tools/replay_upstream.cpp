#include "tools/replay_upstream.h"

#include <cmath>
#include <stdexcept>

#include "http/sse.h"
#include "tools/replay_upstream_answer.h"
#include "tools/replay_upstream_format.h"
#include "tools/replay_upstream_request.h"

namespace clearhouse::tools {
namespace {

using nlohmann::json;

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Everything a stream needs after the handler returned (owned: the producer outlives the request).
struct StreamPlan {
  ApiKind kind = ApiKind::kChat;
  CompletionIdentity identity;
  ReplayAnswer answer;
  Usage usage;
  bool include_usage = false;
  bool send_usage = true;
  std::optional<std::int64_t> close_after;
  double tokens_per_second = 0;
  std::shared_ptr<PacingClock> clock;
};

bool write_json(http::BodyWriter& out, const json& chunk) {
  return out.write(http::sse_data(chunk.dump()));
}

bool run_stream(const StreamPlan& plan, http::BodyWriter& out) {
  const bool chat = plan.kind == ApiKind::kChat;
  if (chat && !write_json(out, stream_chunk(plan.kind, plan.identity, "", "", plan.include_usage,
                                            /*role_chunk=*/true))) {
    return false;
  }
  const auto pieces = split_into_pieces(plan.answer.text, plan.answer.completion_tokens);
  const PacingClock::Duration start = plan.clock->now();
  std::int64_t sent = 0;
  for (const StreamPiece& piece : pieces) {
    if (plan.close_after && sent == *plan.close_after) return false;
    if (plan.tokens_per_second > 0) {
      const auto offset = std::chrono::duration<double>(static_cast<double>(piece.tokens_end) /
                                                        plan.tokens_per_second);
      plan.clock->wait_until(start + std::chrono::duration_cast<PacingClock::Duration>(offset));
    }
    if (!write_json(out,
                    stream_chunk(plan.kind, plan.identity, piece.text, "", plan.include_usage))) {
      return false;
    }
    ++sent;
  }
  if (plan.close_after) return false;  // fewer chunks than close-after: drop before the end
  if (!write_json(out, stream_chunk(plan.kind, plan.identity, "", plan.answer.finish_reason(),
                                    plan.include_usage))) {
    return false;
  }
  if (plan.include_usage && plan.send_usage &&
      !write_json(out, usage_chunk(plan.kind, plan.identity, plan.usage))) {
    return false;
  }
  return out.write(http::kSseDone);
}

}  // namespace

// ---- clocks ----

PacingClock::Duration SteadyPacingClock::now() {
  return std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now().time_since_epoch());
}

bool SteadyPacingClock::wait_until(Duration deadline) {
  const std::chrono::steady_clock::time_point until(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(deadline));
  std::unique_lock<std::mutex> lock(mutex_);
  cond_.wait_until(lock, until, [this] { return interrupted_; });
  return !interrupted_;
}

void SteadyPacingClock::interrupt() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    interrupted_ = true;
  }
  cond_.notify_all();
}

PacingClock::Duration InstantPacingClock::now() {
  return Duration(now_.load());
}

bool InstantPacingClock::wait_until(Duration deadline) {
  if (interrupted_.load()) return false;
  auto current = now_.load();
  while (current < deadline.count() && !now_.compare_exchange_weak(current, deadline.count())) {
  }
  if (current < deadline.count()) ++waits_;
  return true;
}

void InstantPacingClock::interrupt() {
  interrupted_ = true;
}

// ---- the server ----

ReplayUpstream::ReplayUpstream(std::shared_ptr<const ReplayStore> store,
                               ReplayUpstreamOptions options, std::shared_ptr<PacingClock> clock)
    : store_(std::move(store)), options_(std::move(options)), clock_(std::move(clock)) {
  if (!store_) throw std::invalid_argument("replay upstream: no store");
  if (!clock_) clock_ = std::make_shared<SteadyPacingClock>();
  if (!(options_.tokens_per_second >= 0) || !std::isfinite(options_.tokens_per_second)) {
    throw std::invalid_argument("tokens per second must be a finite number >= 0");
  }
  if (options_.lorem_tokens < 0) throw std::invalid_argument("lorem tokens must be >= 0");
  default_model_ = options_.default_model;
  if (default_model_.empty()) {
    if (!store_->models().empty()) default_model_ = store_->models().front();
  } else if (!store_->has_model(default_model_)) {
    std::string names;
    for (const auto& m : store_->models()) names += (names.empty() ? "" : ", ") + m;
    throw std::invalid_argument("no recorded outputs for model '" + default_model_ +
                                "' (available: " + names + ")");
  }
  router_.add("POST", "/v1/chat/completions", "chat_completions",
              [this](const http::HttpRequest& r) { return completions(r, true); });
  router_.add("POST", "/v1/completions", "completions",
              [this](const http::HttpRequest& r) { return completions(r, false); });
  router_.add("GET", "/v1/models", "models", [this](const http::HttpRequest&) { return models(); });
  router_.add("GET", "/health", "health", [](const http::HttpRequest&) {
    return http::json_response(200, json{{"status", "ok"}});
  });
}

http::HttpResponse ReplayUpstream::handle(const http::HttpRequest& request) const {
  return router_.handle(request);
}

void ReplayUpstream::shutdown() {
  clock_->interrupt();
}

http::HttpResponse ReplayUpstream::models() const {
  json data = json::array();
  for (const auto& model : store_->models()) {
    data.push_back(json{
        {"id", model}, {"object", "model"}, {"created", 0}, {"owned_by", "clearhouse-replay"}});
  }
  return http::json_response(200, json{{"object", "list"}, {"data", std::move(data)}});
}

http::HttpResponse ReplayUpstream::completions(const http::HttpRequest& http, bool chat) const {
  const ReplayRequest request = parse_replay_request(http, chat);
  const FaultSpec fault = request.fault ? *request.fault : options_.fault;
  if (fault.delay.count() > 0) {
    clock_->wait_until(clock_->now() +
                       std::chrono::duration_cast<PacingClock::Duration>(fault.delay));
  }
  if (fault.status) {
    throw http::HttpError(*fault.status, "injected fault: status " + std::to_string(*fault.status),
                          {}, {}, "replay_fault");
  }

  const std::string& model = store_->has_model(request.model) ? request.model : default_model_;
  const RecordedOutput* record = nullptr;
  std::string match = "none";
  if (!request.qid.empty()) {
    record = store_->find_by_qid(model, request.qid);
    if (record != nullptr) match = "qid";
  } else {
    record = store_->find_by_text(model, request.prompt);
    if (record != nullptr) match = "text";
  }
  // A completion continued by a runner sends the question followed by the answer so far.
  std::optional<std::string> prefix = request.assistant_prefix;
  if (!chat && record != nullptr && match == "qid") {
    const std::string_view prompt = trim(request.prompt);
    const std::string_view question = trim(record->question);
    if (prompt.size() > question.size() && prompt.substr(0, question.size()) == question) {
      prefix = std::string(request.prompt.substr(request.prompt.find(question) + question.size()));
    }
  }
  if (record == nullptr && options_.unknown_prompt == UnknownPrompt::kError) {
    throw http::HttpError(
        404,
        request.qid.empty()
            ? "no recorded output of model '" + model + "' for this prompt"
            : "no recorded output of model '" + model + "' for qid '" + request.qid + "'",
        "not_found_error", request.qid.empty() ? (chat ? "messages" : "prompt") : "qid",
        "prompt_not_recorded");
  }

  StreamPlan plan;
  plan.kind = chat ? ApiKind::kChat : ApiKind::kCompletion;
  const std::int64_t n = next_id_.fetch_add(1);
  plan.identity = CompletionIdentity{
      (chat ? "chatcmpl-replay-" : "cmpl-replay-") + std::to_string(n), unix_seconds(), model};
  const auto cap = effective_cap(request.max_tokens, request.max_completion_tokens);
  std::optional<ReplayAnswer> continued;
  if (record != nullptr && prefix) {
    continued = continue_answer(record->output, record->output_tokens, *prefix, cap);
  }
  plan.answer = continued ? *continued
                : record != nullptr
                    ? cut_answer(record->output, record->output_tokens, cap)
                    : cut_answer(lorem_text(options_.lorem_tokens), options_.lorem_tokens, cap);
  plan.usage = Usage{estimate_prompt_tokens(request.prompt_chars, request.messages,
                                            store_->chars_per_token(model)),
                     plan.answer.completion_tokens};
  plan.include_usage = request.include_usage;
  plan.send_usage = !fault.no_usage;
  plan.close_after = fault.close_after;
  plan.tokens_per_second = options_.tokens_per_second;
  plan.clock = clock_;

  http::HttpResponse response;
  response.headers.emplace_back("x-replay-match", match);
  if (prefix)
    response.headers.emplace_back("x-replay-continued", continued ? "prefix" : "mismatch");
  if (record != nullptr)
    response.headers.emplace_back("x-replay-qid", record->dataset + "/" + record->qid);
  if (request.stream) {
    response.content_type = std::string(http::kSseContentType);
    response.headers.emplace_back("Cache-Control", "no-cache");
    response.stream = [plan = std::move(plan)](http::BodyWriter& out) {
      return run_stream(plan, out);
    };
    return response;
  }
  if (fault.close_after) {  // headers, then the connection drops before the body
    response.stream = [](http::BodyWriter&) { return false; };
    return response;
  }
  std::optional<Usage> usage;
  if (!fault.no_usage) usage = plan.usage;
  response.body = completion_body(plan.kind, plan.identity, plan.answer.text,
                                  plan.answer.finish_reason(), usage)
                      .dump();
  return response;
}

}  // namespace clearhouse::tools
