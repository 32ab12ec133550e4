#include "tools/replay_upstream.h"

#include <cmath>
#include <stdexcept>

#include "http/sse.h"
#include "tools/replay_upstream_answer.h"
#include "tools/replay_upstream_format.h"
#include "tools/replay_upstream_request.h"
#include "tools/replay_upstream_stream.h"

namespace clearhouse::tools {
namespace {

using nlohmann::json;

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
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
  if (!(options_.reasoning_share >= 0 && options_.reasoning_share <= 1)) {
    throw std::invalid_argument("reasoning share must be a number in [0, 1]");
  }
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
              [this](const http::HttpRequest& r) { return answer(r, ApiKind::kChat); });
  router_.add("POST", "/v1/completions", "completions",
              [this](const http::HttpRequest& r) { return answer(r, ApiKind::kCompletion); });
  router_.add("POST", "/v1/responses", "responses",
              [this](const http::HttpRequest& r) { return answer(r, ApiKind::kResponses); });
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

// The recorded answer a request gets (cut at its cap), with the response headers that say which.
struct ReplayUpstream::Selected {
  ReplayAnswer answer;
  std::string model;
  http::HttpHeaders headers;
};

ReplayUpstream::Selected ReplayUpstream::select(const ReplayRequest& request) const {
  Selected out;
  out.model = store_->has_model(request.model) ? request.model : default_model_;
  const RecordedOutput* record = nullptr;
  std::string match = "none";
  if (!request.qid.empty()) {
    record = store_->find_by_qid(out.model, request.qid);
    if (record != nullptr) match = "qid";
  } else {
    record = store_->find_by_text(out.model, request.prompt);
    if (record != nullptr) match = "text";
  }
  // A completion continued by a runner sends the question followed by the answer so far.
  std::optional<std::string> prefix = request.assistant_prefix;
  if (request.api == ApiKind::kCompletion && record != nullptr && match == "qid") {
    const std::string_view prompt = trim(request.prompt);
    const std::string_view question = trim(record->question);
    if (prompt.size() > question.size() && prompt.substr(0, question.size()) == question) {
      prefix = std::string(request.prompt.substr(request.prompt.find(question) + question.size()));
    }
  }
  if (record == nullptr && options_.unknown_prompt == UnknownPrompt::kError) {
    const char* prompt_param = request.api == ApiKind::kChat         ? "messages"
                               : request.api == ApiKind::kCompletion ? "prompt"
                                                                     : "input";
    throw http::HttpError(
        404,
        request.qid.empty()
            ? "no recorded output of model '" + out.model + "' for this prompt"
            : "no recorded output of model '" + out.model + "' for qid '" + request.qid + "'",
        "not_found_error", request.qid.empty() ? prompt_param : "qid", "prompt_not_recorded");
  }
  const auto cap = effective_cap(request.max_tokens, request.max_completion_tokens);
  std::optional<ReplayAnswer> continued;
  if (record != nullptr && prefix) {
    continued = continue_answer(record->output, record->output_tokens, *prefix, cap);
  }
  out.answer = continued ? *continued
               : record != nullptr
                   ? cut_answer(record->output, record->output_tokens, cap)
                   : cut_answer(lorem_text(options_.lorem_tokens), options_.lorem_tokens, cap);
  out.headers.emplace_back("x-replay-match", match);
  if (prefix) out.headers.emplace_back("x-replay-continued", continued ? "prefix" : "mismatch");
  if (record != nullptr) {
    out.headers.emplace_back("x-replay-qid", record->dataset + "/" + record->qid);
  }
  return out;
}

http::HttpResponse ReplayUpstream::answer(const http::HttpRequest& http, ApiKind api) const {
  const ReplayRequest request = api == ApiKind::kResponses
                                    ? parse_responses_request(http)
                                    : parse_replay_request(http, api == ApiKind::kChat);
  const FaultSpec fault = request.fault ? *request.fault : options_.fault;
  if (fault.delay.count() > 0) {
    clock_->wait_until(clock_->now() +
                       std::chrono::duration_cast<PacingClock::Duration>(fault.delay));
  }
  if (fault.status) {
    throw http::HttpError(*fault.status, "injected fault: status " + std::to_string(*fault.status),
                          {}, {}, "replay_fault");
  }
  Selected selected = select(request);

  StreamPlan plan;
  plan.kind = api;
  const std::int64_t n = next_id_.fetch_add(1);
  const std::string suffix = std::to_string(n);
  plan.identity =
      CompletionIdentity{(api == ApiKind::kChat ? "chatcmpl-replay-" : "cmpl-replay-") + suffix,
                         unix_seconds(), selected.model};
  plan.response_identity =
      ResponseIdentity{"resp_replay_" + suffix, "msg_replay_" + suffix, "rs_replay_" + suffix,
                       plan.identity.created, selected.model};
  plan.answer = std::move(selected.answer);
  plan.prompt_tokens = estimate_prompt_tokens(request.prompt_chars, request.messages,
                                              store_->chars_per_token(selected.model));
  plan.reasoning_share = options_.reasoning_share;
  plan.reasoning_item = options_.reasoning_item;
  plan.usage_shape = fault.no_usage ? UsageShape::kNone : options_.usage_shape;
  plan.include_usage = request.include_usage;
  plan.close_after = fault.close_after;
  plan.tokens_per_second = options_.tokens_per_second;
  plan.clock = clock_;

  http::HttpResponse response;
  response.headers = std::move(selected.headers);
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
  if (api == ApiKind::kResponses) {
    response.body =
        response_body(plan.response_identity, plan.answer.text, plan.response_outcome()).dump();
    return response;
  }
  std::optional<Usage> usage;
  if (plan.usage_shape != UsageShape::kNone) usage = plan.usage();
  response.body = completion_body(plan.kind, plan.identity, plan.answer.text,
                                  plan.answer.finish_reason(), usage)
                      .dump();
  return response;
}

}  // namespace clearhouse::tools
