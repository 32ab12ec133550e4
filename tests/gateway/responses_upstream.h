// A fake upstream serving both POST /v1/responses (typed Responses events when streamed) and POST
// /v1/chat/completions, on an http::HttpServer on 127.0.0.1 with port 0, for the gateway's
// Responses tests. Every answer is kAnswerWords words ("w0 w1 ..."), cut at the request's cap
// (max_output_tokens, or max_tokens for chat): one token per word, usage reported exactly, a cut
// answer marked as Responses "incomplete" (max_output_tokens) or chat finish_reason "length". A
// reasoning effort outside low / medium / high is refused with a 400 whose param names it
// (reasoning.effort, or reasoning_effort for chat), as OpenAI does. It records the paths and
// bodies it received.
//
// Thread-safety: requests() may be called from the test's thread while the server answers.
#pragma once

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "http/server.h"
#include "http/sse.h"

namespace clearhouse::gateway::testing {

class ResponsesUpstream {
 public:
  static constexpr std::int64_t kAnswerWords = 10;
  static constexpr std::int64_t kInputTokens = 7;

  struct Received {
    std::string path;
    nlohmann::json body;
  };

  ResponsesUpstream()
      : server_(http::HttpServerOptions{},
                [this](const http::HttpRequest& r) { return answer(r); }) {
    port_ = server_.bind();
    server_.start();
  }
  ~ResponsesUpstream() { server_.stop(); }
  ResponsesUpstream(const ResponsesUpstream&) = delete;
  ResponsesUpstream& operator=(const ResponsesUpstream&) = delete;

  [[nodiscard]] std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] std::vector<Received> requests() const {
    const std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  using json = nlohmann::json;

  static std::string word(std::int64_t i) { return "w" + std::to_string(i) + " "; }

  static http::HttpResponse refuse(const std::string& param) {
    http::HttpResponse r;
    r.status = 400;
    r.body = json{{"error",
                   {{"message", "Unsupported value: '" + param + "'"},
                    {"type", "invalid_request_error"},
                    {"param", param},
                    {"code", "unsupported_value"}}}}
                 .dump();
    return r;
  }

  static bool bad_effort(const json& effort) {
    return !effort.is_null() && effort != "low" && effort != "medium" && effort != "high";
  }

  http::HttpResponse answer(const http::HttpRequest& request) {
    const json body = json::parse(request.body, nullptr, false);
    {
      const std::lock_guard lock(mutex_);
      received_.push_back({request.path, body});
    }
    if (!body.is_object()) return refuse("body");
    const bool stream = body.value("stream", false);
    if (request.path == "/v1/responses") {
      const json effort = body.contains("reasoning") && body["reasoning"].is_object()
                              ? body["reasoning"].value("effort", json())
                              : json();
      if (bad_effort(effort)) return refuse("reasoning.effort");
      const std::int64_t cap = body.value("max_output_tokens", kAnswerWords);
      return stream ? responses_stream(std::min(cap, kAnswerWords), cap < kAnswerWords)
                    : responses_whole(std::min(cap, kAnswerWords), cap < kAnswerWords);
    }
    if (bad_effort(body.value("reasoning_effort", json()))) return refuse("reasoning_effort");
    const std::int64_t cap = body.value("max_tokens", kAnswerWords);
    return stream ? chat_stream(std::min(cap, kAnswerWords), cap < kAnswerWords)
                  : chat_whole(std::min(cap, kAnswerWords), cap < kAnswerWords);
  }

  static json response(std::int64_t words, bool cut, const std::string& status) {
    std::string text;
    for (std::int64_t i = 0; i < words; ++i) text += word(i);
    json r = {{"id", "resp_fake"},
              {"object", "response"},
              {"status", status},
              {"model", "fake"},
              {"output", json::array()},
              {"usage", nullptr},
              {"incomplete_details", nullptr}};
    if (status == "in_progress") return r;
    r["output"].push_back({{"type", "message"},
                           {"id", "msg_fake"},
                           {"role", "assistant"},
                           {"status", cut ? "incomplete" : "completed"},
                           {"content", {{{"type", "output_text"}, {"text", text}}}}});
    if (cut) r["incomplete_details"] = {{"reason", "max_output_tokens"}};
    r["usage"] = {{"input_tokens", kInputTokens},
                  {"output_tokens", words},
                  {"output_tokens_details", {{"reasoning_tokens", 0}}},
                  {"total_tokens", kInputTokens + words}};
    return r;
  }

  static http::HttpResponse responses_whole(std::int64_t words, bool cut) {
    http::HttpResponse r;
    r.body = response(words, cut, cut ? "incomplete" : "completed").dump();
    return r;
  }

  static std::string typed(json event, std::int64_t& seq) {
    event["sequence_number"] = seq++;
    return "event: " + event["type"].get<std::string>() + "\n" + http::sse_data(event.dump());
  }

  static http::HttpResponse responses_stream(std::int64_t words, bool cut) {
    http::HttpResponse r;
    r.content_type = std::string(http::kSseContentType);
    r.stream = [words, cut](http::BodyWriter& out) {
      std::int64_t seq = 0;
      if (!out.write(
              typed({{"type", "response.created"}, {"response", response(0, false, "in_progress")}},
                    seq))) {
        return false;
      }
      for (std::int64_t i = 0; i < words; ++i) {
        if (!out.write(typed({{"type", "response.output_text.delta"},
                              {"item_id", "msg_fake"},
                              {"output_index", 0},
                              {"content_index", 0},
                              {"delta", word(i)}},
                             seq))) {
          return false;
        }
      }
      const std::string status = cut ? "incomplete" : "completed";
      return out.write(
          typed({{"type", "response." + status}, {"response", response(words, cut, status)}}, seq));
    };
    return r;
  }

  static json chat_usage(std::int64_t words) {
    return {{"prompt_tokens", kInputTokens},
            {"completion_tokens", words},
            {"total_tokens", kInputTokens + words}};
  }

  static http::HttpResponse chat_whole(std::int64_t words, bool cut) {
    std::string text;
    for (std::int64_t i = 0; i < words; ++i) text += word(i);
    http::HttpResponse r;
    r.body = json{{"id", "chatcmpl-fake"},
                  {"object", "chat.completion"},
                  {"model", "fake"},
                  {"choices",
                   {{{"index", 0},
                     {"message", {{"role", "assistant"}, {"content", text}}},
                     {"finish_reason", cut ? "length" : "stop"}}}},
                  {"usage", chat_usage(words)}}
                 .dump();
    return r;
  }

  static http::HttpResponse chat_stream(std::int64_t words, bool cut) {
    http::HttpResponse r;
    r.content_type = std::string(http::kSseContentType);
    r.stream = [words, cut](http::BodyWriter& out) {
      for (std::int64_t i = 0; i < words; ++i) {
        const json chunk = {{"model", "fake"},
                            {"choices", {{{"index", 0}, {"delta", {{"content", word(i)}}}}}}};
        if (!out.write(http::sse_data(chunk.dump()))) return false;
      }
      const json last = {{"choices",
                          {{{"index", 0},
                            {"delta", json::object()},
                            {"finish_reason", cut ? "length" : "stop"}}}}};
      if (!out.write(http::sse_data(last.dump()))) return false;
      const json usage = {{"choices", json::array()}, {"usage", chat_usage(words)}};
      if (!out.write(http::sse_data(usage.dump()))) return false;
      return out.write(http::kSseDone);
    };
    return r;
  }

  mutable std::mutex mutex_;
  std::vector<Received> received_;  // guarded by mutex_
  http::HttpServer server_;
  int port_ = 0;
};

}  // namespace clearhouse::gateway::testing
