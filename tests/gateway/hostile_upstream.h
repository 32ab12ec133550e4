// A fake OpenAI upstream that reports whatever usage a test scripts (absurd, negative, fractional,
// revised mid-stream), on an http::HttpServer on 127.0.0.1 with port 0, and records the bodies the
// gateway sent it. A whole answer carries the first scripted usage; a stream sends a few content
// chunks, then one usage-only chunk per scripted usage, then [DONE].
//
// Thread-safety: script() and bodies() may be called from the test's thread while the server
// answers on its own threads.
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "http/server.h"
#include "http/sse.h"

namespace clearhouse::gateway::testing {

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

  // Every request body received, parsed, in order.
  [[nodiscard]] std::vector<nlohmann::json> bodies() const {
    const std::lock_guard lock(mutex_);
    return bodies_;
  }

 private:
  static nlohmann::json usage(const nlohmann::json& completion_tokens) {
    return {{"prompt_tokens", 5}, {"completion_tokens", completion_tokens}};
  }

  http::HttpResponse answer(const http::HttpRequest& request) {
    const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    std::vector<nlohmann::json> usages;
    {
      const std::lock_guard lock(mutex_);
      bodies_.push_back(body);
      usages = usages_;
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
      if (!usages.empty()) whole["usage"] = usage(usages.front());
      response.body = whole.dump();
      return response;
    }
    response.content_type = std::string(http::kSseContentType);
    response.stream = [usages](http::BodyWriter& out) {
      for (int i = 0; i < kContentChunks; ++i) {
        const nlohmann::json chunk = {
            {"choices", {{{"index", 0}, {"delta", {{"content", "tok "}}}}}}, {"usage", nullptr}};
        if (!out.write(http::sse_data(chunk.dump()))) return false;
      }
      for (const nlohmann::json& tokens : usages) {
        const nlohmann::json chunk = {{"choices", nlohmann::json::array()},
                                      {"usage", usage(tokens)}};
        if (!out.write(http::sse_data(chunk.dump()))) return false;
      }
      return out.write(http::kSseDone);
    };
    return response;
  }

  mutable std::mutex mutex_;
  std::vector<nlohmann::json> usages_;  // guarded by mutex_
  std::vector<nlohmann::json> bodies_;  // guarded by mutex_
  http::HttpServer server_;
  int port_ = 0;
};

}  // namespace clearhouse::gateway::testing
