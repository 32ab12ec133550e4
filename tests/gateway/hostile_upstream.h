// A fake OpenAI upstream that reports whatever usage a test scripts (absurd, negative, fractional,
// revised mid-stream), on an http::HttpServer on 127.0.0.1 with port 0, and records the bodies the
// gateway sent it. A whole answer carries the first scripted usage; a stream sends a few content
// chunks and its usage in the scripted shape (UsageShape: OpenAI's usage-only chunks, llama.cpp's
// final chunk, vLLM's continuous usage), then [DONE]. Usage may carry reasoning tokens
// (completion_tokens_details.reasoning_tokens).
//
// Thread-safety: script() and bodies() may be called from the test's thread while the server
// answers on its own threads.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "http/server.h"
#include "http/sse.h"

namespace clearhouse::gateway::testing {

// Where a stream's usage goes.
enum class UsageShape {
  kUsageOnlyChunks,  // OpenAI: after the content, one chunk with `choices: []` per scripted usage
  kFinalChunk,       // llama.cpp: one last chunk with choices (finish_reason) and the first usage
  kContinuous,       // vLLM continuous_usage_stats: every chunk carries the usage so far (the
                     // first scripted usage, reached on the last content chunk), then a final
                     // usage-only chunk repeats it
};

class HostileUpstream {
 public:
  static constexpr int kContentChunks = 3;

  HostileUpstream()
      : server_(http::HttpServerOptions{},
                [this](const http::HttpRequest& r) { return answer(r); }) {
    port_ = server_.bind();
    server_.start();
  }
  ~HostileUpstream() { server_.stop(); }
  HostileUpstream(const HostileUpstream&) = delete;
  HostileUpstream& operator=(const HostileUpstream&) = delete;

  [[nodiscard]] std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The usage.completion_tokens values of the next answers (none: no usage at all).
  void script(std::vector<nlohmann::json> completion_tokens) {
    const std::lock_guard lock(mutex_);
    usages_ = std::move(completion_tokens);
  }

  // How streams carry the usage, and the reasoning tokens reported with the first usage (null: no
  // completion_tokens_details).
  void shape(UsageShape shape, nlohmann::json reasoning_tokens = nullptr) {
    const std::lock_guard lock(mutex_);
    shape_ = shape;
    reasoning_ = std::move(reasoning_tokens);
  }

  // Every request body received, parsed, in order.
  [[nodiscard]] std::vector<nlohmann::json> bodies() const {
    const std::lock_guard lock(mutex_);
    return bodies_;
  }

 private:
  static nlohmann::json usage(const nlohmann::json& completion_tokens,
                              const nlohmann::json& reasoning = nullptr) {
    nlohmann::json u = {{"prompt_tokens", 5}, {"completion_tokens", completion_tokens}};
    if (!reasoning.is_null()) u["completion_tokens_details"] = {{"reasoning_tokens", reasoning}};
    return u;
  }

  // Chunk i of kContentChunks under continuous usage: the counts so far (a share of the totals).
  static nlohmann::json usage_so_far(const nlohmann::json& total, const nlohmann::json& reasoning,
                                     int i) {
    if (!total.is_number_integer()) return usage(total, reasoning);
    const auto share = [i](const nlohmann::json& n) {
      return n.get<std::int64_t>() * (i + 1) / kContentChunks;
    };
    return usage(share(total),
                 reasoning.is_number_integer() ? nlohmann::json(share(reasoning)) : reasoning);
  }

  http::HttpResponse answer(const http::HttpRequest& request) {
    const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    std::vector<nlohmann::json> usages;
    UsageShape shape = UsageShape::kUsageOnlyChunks;
    nlohmann::json reasoning;
    {
      const std::lock_guard lock(mutex_);
      bodies_.push_back(body);
      usages = usages_;
      shape = shape_;
      reasoning = reasoning_;
    }
    const bool stream = body.is_object() && body.value("stream", false);
    http::HttpResponse response;
    if (!stream) {
      nlohmann::json whole = {{"id", "hostile-1"},
                              {"object", "chat.completion"},
                              {"choices",
                               {{{"index", 0},
                                 {"message", {{"role", "assistant"}, {"content", "four"}}},
                                 {"finish_reason", "stop"}}}}};
      if (!usages.empty()) whole["usage"] = usage(usages.front(), reasoning);
      response.body = whole.dump();
      return response;
    }
    response.content_type = std::string(http::kSseContentType);
    response.stream = [usages, shape, reasoning](http::BodyWriter& out) {
      const bool continuous = shape == UsageShape::kContinuous && !usages.empty();
      for (int i = 0; i < kContentChunks; ++i) {
        const nlohmann::json chunk = {
            {"choices",
             {{{"index", 0}, {"delta", {{"content", "tok "}}}, {"finish_reason", nullptr}}}},
            {"usage", continuous ? usage_so_far(usages.front(), reasoning, i) : nullptr}};
        if (!out.write(http::sse_data(chunk.dump()))) return false;
      }
      if (shape == UsageShape::kFinalChunk && !usages.empty()) {
        const nlohmann::json chunk = {
            {"choices",
             {{{"index", 0}, {"delta", nlohmann::json::object()}, {"finish_reason", "stop"}}}},
            {"usage", usage(usages.front(), reasoning)}};
        if (!out.write(http::sse_data(chunk.dump()))) return false;
        return out.write(http::kSseDone);
      }
      for (const nlohmann::json& tokens : usages) {
        const nlohmann::json chunk = {{"choices", nlohmann::json::array()},
                                      {"usage", usage(tokens, reasoning)}};
        if (!out.write(http::sse_data(chunk.dump()))) return false;
      }
      return out.write(http::kSseDone);
    };
    return response;
  }

  mutable std::mutex mutex_;
  std::vector<nlohmann::json> usages_;               // guarded by mutex_
  UsageShape shape_ = UsageShape::kUsageOnlyChunks;  // guarded by mutex_
  nlohmann::json reasoning_;                         // guarded by mutex_
  std::vector<nlohmann::json> bodies_;               // guarded by mutex_
  http::HttpServer server_;
  int port_ = 0;
};

}  // namespace clearhouse::gateway::testing
