// Helpers shared by the end-to-end tests of `clearhouse serve`: the real replay upstream and
// gateway as child processes (support/child_process.h), a config file for them, and an HTTP client
// that keeps whatever arrived of a response, headers included, even when the connection breaks.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "http/sse.h"
#include "support/child_process.h"
#include "support/run_binary.h"

namespace clearhouse::cli::testing {

using clearhouse::testing::ChildProcess;
using nlohmann::json;

inline std::string data_dir() {
  return std::string(CLEARHOUSE_SOURCE_DIR) + "/data";
}

// `clearhouse replay-upstream` on 127.0.0.1, port 0, serving the recorded answers of data/.
inline std::unique_ptr<ChildProcess> start_replay(const std::filesystem::path& dir,
                                                  const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"replay-upstream", "--data", data_dir(), "--port", "0",
                                   "--threads",       "64"};
  args.insert(args.end(), extra.begin(), extra.end());
  return std::make_unique<ChildProcess>(args, dir / "replay.stderr");
}

// A gateway config in `dir` (ledger dir/ledger.db, port 0, no client keys) for the replay upstream
// on replay_port; `extra` is appended at the top level. Returns the file's path.
inline std::filesystem::path write_gateway_config(const std::filesystem::path& dir, int replay_port,
                                                  const std::string& extra = "") {
  const auto path = dir / "gateway.yaml";
  std::ofstream out(path);
  out << "listen: 127.0.0.1:0\n"
         "ledger: ledger.db\n"
         "budget: {completion_tokens: 10000000, window_seconds: 0}\n"
         "policy: uniform\n"
         "upstreams:\n"
         "  - {name: replay, base_url: \"http://127.0.0.1:"
      << replay_port << "\", model: Qwen2-7B-Instruct, price_per_mtok: 0.6}\n"
      << extra;
  return path;
}

// `clearhouse serve --config config`, its stderr in `stderr_path`.
inline std::unique_ptr<ChildProcess> start_serve(const std::filesystem::path& config,
                                                 const std::filesystem::path& stderr_path) {
  return std::make_unique<ChildProcess>(
      std::vector<std::string>{"serve", "--config", config.string()}, stderr_path);
}

// The first n recorded questions of data/zeroeval.
inline std::vector<std::string> recorded_questions(std::size_t n) {
  std::ifstream in(data_dir() + "/zeroeval/questions.jsonl");
  std::vector<std::string> out;
  std::string line;
  while (out.size() < n && std::getline(in, line)) {
    out.push_back(json::parse(line)["question"].get<std::string>());
  }
  return out;
}

inline json chat(const std::string& prompt, json extra = json::object()) {
  json body = {{"model", "Qwen2-7B-Instruct"},
               {"messages", {{{"role", "user"}, {"content", prompt}}}}};
  body.update(extra);
  return body;
}

// What a client received of one response.
struct Received {
  httplib::Error error = httplib::Error::Success;  // Success: the whole HTTP response arrived
  int status = 0;                                  // 0: no response head arrived
  std::string request_id;                          // x-clearhouse-request-id
  std::string body;                                // what arrived, even when the connection broke
};

// POSTs `body` to the gateway on `port`. on_data (optional) sees the body received so far each time
// bytes arrive.
inline Received post(int port, const std::string& path, const json& body,
                     const std::function<void(const std::string&)>& on_data = nullptr) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(60, 0);
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.headers.emplace("Content-Type", "application/json");
  req.body = body.dump();
  Received r;
  req.response_handler = [&](const httplib::Response& head) {
    r.status = head.status;
    r.request_id = head.get_header_value("x-clearhouse-request-id");
    return true;
  };
  req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    r.body.append(data, n);
    if (on_data) on_data(r.body);
    return true;
  };
  const httplib::Result res = client.send(req);
  r.error = res.error();
  return r;
}

// The completion tokens of a response the client received in full (a 200 with usage: a whole JSON
// body, or a stream that reached [DONE] after a usage chunk), else nullopt.
inline std::optional<std::int64_t> acknowledged_tokens(const Received& r, bool stream) {
  if (r.status != 200) return std::nullopt;
  if (!stream) {
    if (r.error != httplib::Error::Success) return std::nullopt;
    const json b = json::parse(r.body, nullptr, false);
    if (!b.is_object() || !b.contains("usage")) return std::nullopt;
    return b["usage"]["completion_tokens"].get<std::int64_t>();
  }
  // A stream is complete for an OpenAI client at [DONE], whether or not the HTTP body's last chunk
  // followed (a gateway killed right after [DONE] does not send it).
  const std::vector<std::string> payloads = http::parse_sse(r.body);
  if (payloads.empty() || payloads.back() != http::kSseDonePayload) return std::nullopt;
  std::optional<std::int64_t> usage;
  for (const std::string& p : payloads) {
    if (p == http::kSseDonePayload) continue;
    const json chunk = json::parse(p, nullptr, false);
    if (chunk.is_object() && chunk.contains("usage") && chunk["usage"].is_object()) {
      usage = chunk["usage"]["completion_tokens"].get<std::int64_t>();
    }
  }
  return usage;
}

}  // namespace clearhouse::cli::testing
