// Helpers shared by the replay upstream's handler-level tests: a tiny in-memory store, requests and
// a BodyWriter that captures a streamed body.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "http/http.h"
#include "http/sse.h"
#include "tools/replay_upstream.h"
#include "tools/replay_upstream_store.h"

namespace clearhouse::tools::testing {

// 40 characters recorded as 10 tokens: 4 characters per token.
inline constexpr const char* kAnswer = "The answer is 4 because 2 plus 2 is four";
inline constexpr const char* kQuestion = "What is 2 + 2?";

inline std::shared_ptr<const ReplayStore> tiny_store() {
  std::vector<RecordedOutput> records = {
      {"model-a", "gsm", "q1", kQuestion, kAnswer, 10, 40},
      {"model-a", "gsm", "q2", "Say caf\xC3\xA9 twice.", "caf\xC3\xA9 caf\xC3\xA9", 4, 9},
      {"model-b", "gsm", "q1", kQuestion, "Four.", 2, 5},
  };
  return std::make_shared<const ReplayStore>(std::move(records));
}

inline http::HttpRequest post(const std::string& path, const nlohmann::json& body,
                              http::HttpHeaders headers = {}) {
  return http::HttpRequest{"POST", path, std::move(headers), body.dump()};
}

inline nlohmann::json chat_body(const std::string& prompt,
                                nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json body = {{"model", "model-a"},
                         {"messages", {{{"role", "user"}, {"content", prompt}}}}};
  body.update(extra);
  return body;
}

class CaptureWriter : public http::BodyWriter {
 public:
  // Accepts `limit` writes, then reports the client gone.
  explicit CaptureWriter(std::size_t limit = static_cast<std::size_t>(-1)) : limit_(limit) {}
  bool write(std::string_view data) override {
    if (writes_ >= limit_) return false;
    ++writes_;
    body += data;
    return true;
  }
  std::string body;

 private:
  std::size_t limit_;
  std::size_t writes_ = 0;
};

struct Streamed {
  bool complete = false;              // the producer finished the body
  std::vector<std::string> payloads;  // SSE data payloads, [DONE] included
  std::string raw;
};

inline Streamed run_stream(const http::HttpResponse& response,
                           CaptureWriter writer = CaptureWriter()) {
  Streamed s;
  s.complete = response.stream(writer);
  s.raw = writer.body;
  s.payloads = http::parse_sse(writer.body);
  return s;
}

// The JSON chunks of a stream (without [DONE]).
inline std::vector<nlohmann::json> chunks(const Streamed& s) {
  std::vector<nlohmann::json> out;
  for (const auto& p : s.payloads) {
    if (p != http::kSseDonePayload) out.push_back(nlohmann::json::parse(p));
  }
  return out;
}

inline std::string header_of(const http::HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

}  // namespace clearhouse::tools::testing
