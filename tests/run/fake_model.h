// A fake OpenAI-compatible model for the executor's tests, called in-process as a run::Transport.
//
// Query i's prompt is "q<i>"; its answer has lengths[i] tokens, each the two characters "t ". A
// request continues from the text of a final assistant message (chat) or after the prompt
// (completions), so continuation is exact: a request with cap c from offset a returns
// min(c, d - a) tokens, finish_reason "stop" when it reaches d, "length" otherwise, with usage.
// Faults are scripted per query: the next `failures` requests of a query fail with a status (and
// Retry-After) or with a transport failure. Thread-safe (one mutex).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "http/upstream_client.h"

namespace clearhouse::run::testing {

struct Fault {
  int failures = 0;
  int status = 500;  // 0 = transport failure `failure`
  http::UpstreamFailure failure = http::UpstreamFailure::kTimeout;
  std::string retry_after;
};

inline Fault refusals(int failures, int status, std::string retry_after = {}) {
  Fault f;
  f.failures = failures;
  f.status = status;
  f.retry_after = std::move(retry_after);
  return f;
}

inline Fault transport_failures(int failures, http::UpstreamFailure failure) {
  Fault f;
  f.failures = failures;
  f.status = 0;
  f.failure = failure;
  return f;
}

class FakeModel {
 public:
  explicit FakeModel(std::vector<std::int64_t> lengths) : lengths_(std::move(lengths)) {}

  void fault(std::size_t query, Fault f) {
    std::lock_guard lock(mutex_);
    faults_[query] = f;
  }

  http::UpstreamReply operator()(std::string_view path, const std::string& body_text) {
    const nlohmann::json body = nlohmann::json::parse(body_text);
    const bool chat = path == "/v1/chat/completions";
    std::string prompt;
    std::string so_far;
    if (chat) {
      const auto& messages = body["messages"];
      prompt = messages[0]["content"].get<std::string>();
      if (messages.back()["role"] == "assistant") so_far = messages.back()["content"];
    } else {
      const std::string full = body["prompt"].get<std::string>();
      prompt = full.substr(0, full.find('t') == std::string::npos ? full.size() : full.find('t'));
      so_far = full.substr(prompt.size());
    }
    const auto query = static_cast<std::size_t>(std::stoul(prompt.substr(1)));
    const std::int64_t cap = body["max_tokens"].get<std::int64_t>();
    std::lock_guard lock(mutex_);
    requests_.push_back({query, cap, body});
    http::UpstreamReply reply;
    auto fault = faults_.find(query);
    if (fault != faults_.end() && fault->second.failures > 0) {
      --fault->second.failures;
      if (fault->second.status == 0) {
        reply.failure = fault->second.failure;
        reply.message = "scripted failure";
      } else {
        reply.status = fault->second.status;
        reply.retry_after = fault->second.retry_after;
        reply.body = R"({"error": {"message": "scripted refusal"}})";
      }
      return reply;
    }
    const auto offset = static_cast<std::int64_t>(so_far.size() / 2);
    const std::int64_t tokens = std::min(cap, lengths_[query] - offset);
    const bool stop = offset + tokens >= lengths_[query];
    std::string text;
    for (std::int64_t t = 0; t < tokens; ++t) text += "t ";
    usage_ += tokens;
    nlohmann::json choice = {{"index", 0}, {"finish_reason", stop ? "stop" : "length"}};
    if (chat) {
      choice["message"] = {{"role", "assistant"}, {"content", text}};
    } else {
      choice["text"] = text;
    }
    reply.status = 200;
    reply.body =
        nlohmann::json{
            {"id", "cmpl-" + std::to_string(requests_.size())},
            {"choices", {choice}},
            {"usage",
             {{"prompt_tokens", 3}, {"completion_tokens", tokens}, {"total_tokens", 3 + tokens}}}}
            .dump();
    return reply;
  }

  struct Request {
    std::size_t query;
    std::int64_t cap;
    nlohmann::json body;
  };
  std::vector<Request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::int64_t usage() const {
    std::lock_guard lock(mutex_);
    return usage_;
  }
  std::size_t requests_of(std::size_t query) const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(std::count_if(
        requests_.begin(), requests_.end(), [&](const Request& r) { return r.query == query; }));
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::int64_t> lengths_;
  std::map<std::size_t, Fault> faults_;
  std::vector<Request> requests_;
  std::int64_t usage_ = 0;
};

}  // namespace clearhouse::run::testing
