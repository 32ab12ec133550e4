// Helpers shared by the end-to-end tests of `clearhouse run`: the replay upstream (recorded answers
// of data/) served in the test's process on port 0 behind a wrapper that counts every request and
// sums the usage it answered, so tests check what the upstream saw, not what the runner says; and
// batches of recorded questions in the Batch API format.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "http/server.h"
#include "support/run_binary.h"
#include "tools/replay_upstream.h"
#include "tools/replay_upstream_store.h"

namespace clearhouse::testing {

using nlohmann::json;

inline constexpr const char* kModel = "Qwen2-7B-Instruct";

inline std::shared_ptr<const tools::ReplayStore> store() {
  static const auto s = std::make_shared<const tools::ReplayStore>(
      tools::ReplayStore::load(std::string(CLEARHOUSE_SOURCE_DIR) + "/data"));
  return s;
}

// The replay upstream on 127.0.0.1:port(), counting requests per prompt and the usage it served.
class CountingReplay {
 public:
  // real_time: delays and pacing take real time (for timeouts); otherwise an instant clock.
  explicit CountingReplay(bool real_time = false)
      : upstream_(store(), tools::ReplayUpstreamOptions{},
                  real_time ? std::shared_ptr<tools::PacingClock>(
                                  std::make_shared<tools::SteadyPacingClock>())
                            : std::make_shared<tools::InstantPacingClock>()),
        server_({}, [this](const http::HttpRequest& r) { return handle(r); }) {
    port_ = server_.bind();
    server_.start();
  }
  // Delays in progress end at once, so the server stops without waiting them out.
  ~CountingReplay() { upstream_.shutdown(); }
  CountingReplay(const CountingReplay&) = delete;
  CountingReplay& operator=(const CountingReplay&) = delete;
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::int64_t requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::int64_t usage() {
    std::lock_guard lock(mutex_);
    return usage_;
  }
  std::map<std::string, int> requests_by_prompt() {
    std::lock_guard lock(mutex_);
    return by_prompt_;
  }

 private:
  // Counts the request when it arrives (a delayed answer may never be read), its usage when
  // answered.
  http::HttpResponse handle(const http::HttpRequest& request) {
    const json body = json::parse(request.body, nullptr, false);
    {
      std::lock_guard lock(mutex_);
      ++requests_;
      if (body.is_object() && body.contains("messages")) {
        ++by_prompt_[body["messages"][0]["content"].get<std::string>()];
      }
    }
    http::HttpResponse response = upstream_.handle(request);
    const json answer = json::parse(response.body, nullptr, false);
    if (answer.is_object() && answer.contains("usage") && answer["usage"].is_object()) {
      std::lock_guard lock(mutex_);
      usage_ += answer["usage"]["completion_tokens"].get<std::int64_t>();
    }
    return response;
  }

  tools::ReplayUpstream upstream_;
  std::mutex mutex_;
  std::int64_t requests_ = 0;
  std::int64_t usage_ = 0;
  std::map<std::string, int> by_prompt_;
  int port_ = 0;
  // Last: destroyed first, so its connection threads stop before the counters they update go.
  http::HttpServer server_;
};

struct Batch {
  std::string path;
  std::map<std::string, std::string> question_of;  // custom_id -> question
  std::map<std::string, std::int64_t> tokens_of;   // custom_id -> recorded answer's tokens
  std::vector<std::string> ids;                    // in file order
};

struct BatchSpec {
  std::size_t n = 0;
  std::string fault{};         // goes into the body of line fault_line (metadata.replay_fault)
  std::size_t fault_line = 0;  // 0-based
  bool fault_every_line = false;
  double tau = 0;          // > 0: every line's tau
  std::size_t stride = 1;  // every stride-th recorded question of kModel
  bool dataset = false;    // lines name their dataset (for the predictor)
};

// Recorded questions of kModel as Batch API chat lines, custom_id "dataset/qid".
inline Batch write_batch(const std::filesystem::path& dir, const BatchSpec& spec) {
  Batch batch;
  batch.path = (dir / "batch.jsonl").string();
  std::ofstream out(batch.path);
  std::set<std::string> seen;
  std::size_t candidate = 0;
  for (const tools::RecordedOutput& r : store()->records()) {
    if (batch.question_of.size() == spec.n) break;
    if (r.model != kModel || r.question.empty() || !seen.insert(r.question).second) continue;
    if (candidate++ % spec.stride != 0) continue;
    const std::string id = r.dataset + "/" + r.qid;
    json body = {{"model", kModel},
                 {"messages", json::array({{{"role", "user"}, {"content", r.question}}})}};
    if (!spec.fault.empty() &&
        (spec.fault_every_line || batch.question_of.size() == spec.fault_line)) {
      body["metadata"] = {{"replay_fault", spec.fault}};
    }
    json line = {
        {"custom_id", id}, {"method", "POST"}, {"url", "/v1/chat/completions"}, {"body", body}};
    if (spec.tau > 0) line["tau"] = spec.tau;
    if (spec.dataset) line["dataset"] = r.dataset;
    out << line.dump() << "\n";
    batch.question_of[id] = r.question;
    batch.tokens_of[id] = r.output_tokens;
    batch.ids.push_back(id);
  }
  return batch;
}

// The first n recorded questions of kModel; `fault` goes into the body of line fault_line.
inline Batch write_batch(const std::filesystem::path& dir, std::size_t n, std::string fault = {},
                         std::size_t fault_line = 0, double tau = 0) {
  return write_batch(
      dir, BatchSpec{.n = n, .fault = std::move(fault), .fault_line = fault_line, .tau = tau});
}

inline std::vector<json> read_lines(const std::filesystem::path& path) {
  std::vector<json> lines;
  std::istringstream in(slurp(path));
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

// The lines of `path` that end in a newline: a reader racing the writer may see a last line that is
// not whole yet.
inline std::vector<json> whole_lines(const std::filesystem::path& path) {
  std::string text = slurp(path);
  text.erase(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
  std::vector<json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

}  // namespace clearhouse::testing
