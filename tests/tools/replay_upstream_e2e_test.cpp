// End to end: the real `clearhouse replay-upstream` binary on 127.0.0.1, port 0, talked to with
// cpp-httplib's client. Synchronisation is on the "listening on" line and on received bytes, never
// on sleeps.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "http/sse.h"
#include "support/run_binary.h"

extern char** environ;

namespace clearhouse::tools {
namespace {

using nlohmann::json;

// A running replay upstream; the destructor sends SIGTERM and checks a clean exit.
class ReplayProcess {
 public:
  explicit ReplayProcess(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {CLEARHOUSE_BIN, "replay-upstream",
                                     "--data",       std::string(CLEARHOUSE_SOURCE_DIR) + "/data",
                                     "--port",       "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    if (std::find(extra.begin(), extra.end(), "--threads") == extra.end()) {
      args.insert(args.end(), {"--threads", "16"});
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe");
    stderr_path_ = clearhouse::testing::scratch_dir("replay") / "stderr";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    if (rc != 0) throw std::runtime_error("posix_spawn failed");
    stdout_fd_ = out[0];
    // Wait for the first line (at most 60 s, for slow sanitizer builds).
    std::string line;
    while (line.find('\n') == std::string::npos) {
      pollfd p{stdout_fd_, POLLIN, 0};
      if (poll(&p, 1, 60'000) <= 0) break;
      char buf[256];
      const ssize_t n = read(stdout_fd_, buf, sizeof(buf));
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    first_line_ = line.substr(0, line.find('\n'));
    const std::string prefix = "listening on 127.0.0.1:";
    if (first_line_.rfind(prefix, 0) == 0) port_ = std::stoi(first_line_.substr(prefix.size()));
  }

  ~ReplayProcess() {
    if (pid_ > 0 && !waited_) {
      const int code = stop();  // a sanitizer report in the child shows up here
      EXPECT_EQ(code, 0) << stderr_text();
    }
    if (stdout_fd_ >= 0) close(stdout_fd_);
  }

  // SIGTERM, then the exit status.
  int stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    waited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  int port() const { return port_; }
  const std::string& first_line() const { return first_line_; }
  std::string stderr_text() const { return clearhouse::testing::slurp(stderr_path_); }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    return c;
  }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int port_ = -1;
  bool waited_ = false;
  std::string first_line_;
  std::filesystem::path stderr_path_;
};

std::string first_question() {
  std::ifstream in(std::string(CLEARHOUSE_SOURCE_DIR) + "/data/zeroeval/questions.jsonl");
  std::string line;
  std::getline(in, line);
  return json::parse(line)["question"].get<std::string>();
}

json chat(const std::string& prompt, json extra = json::object()) {
  json body = {{"model", "Qwen2-7B-Instruct"},
               {"messages", {{{"role", "user"}, {"content", prompt}}}}};
  body.update(extra);
  return body;
}

struct Received {
  httplib::Error error = httplib::Error::Success;
  int status = 0;
  std::string body;  // what arrived, even when the connection dropped
};

// POSTs with a content receiver, so a body cut off by the server is still seen. on_data sees the
// bytes received so far.
Received post(const ReplayProcess& server, const std::string& path, const json& body,
              const httplib::Headers& headers = {},
              const std::function<void(const std::string&)>& on_data = nullptr) {
  httplib::Client c = server.client();
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.headers = headers;
  req.headers.emplace("Content-Type", "application/json");
  req.body = body.dump();
  Received r;
  req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    r.body.append(data, n);
    if (on_data) on_data(r.body);
    return true;
  };
  const httplib::Result res = c.send(req);
  r.error = res.error();
  if (res) r.status = res->status;
  return r;
}

std::vector<json> chunks_of(const std::string& body) {
  std::vector<json> out;
  for (const auto& p : http::parse_sse(body)) {
    if (p != http::kSseDonePayload) out.push_back(json::parse(p));
  }
  return out;
}

TEST(ReplayUpstreamE2E, ServesRecordedAnswersWithAndWithoutCaps) {
  ReplayProcess server;
  ASSERT_GT(server.port(), 0) << server.first_line() << server.stderr_text();
  auto c = server.client();
  const auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  const auto models = c.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(json::parse(models->body)["data"][0]["id"], "Qwen2-7B-Instruct");

  const std::string q = first_question();
  const Received full = post(server, "/v1/chat/completions", chat(q));
  ASSERT_EQ(full.status, 200) << full.body;
  const json f = json::parse(full.body);
  EXPECT_EQ(f["choices"][0]["finish_reason"], "stop");
  const std::int64_t recorded = f["usage"]["completion_tokens"];
  EXPECT_GT(recorded, 20);
  const std::string answer = f["choices"][0]["message"]["content"];

  for (const json& caps : {json{{"max_tokens", 20}}, json{{"max_completion_tokens", 20}},
                           json{{"max_tokens", 20}, {"max_completion_tokens", 500}},
                           json{{"max_tokens", 500}, {"max_completion_tokens", 20}}}) {
    const Received r = post(server, "/v1/chat/completions", chat(q, caps));
    ASSERT_EQ(r.status, 200) << r.body;
    const json b = json::parse(r.body);
    EXPECT_EQ(b["choices"][0]["finish_reason"], "length") << caps;
    EXPECT_EQ(b["usage"]["completion_tokens"], 20) << caps;
    const std::string text = b["choices"][0]["message"]["content"];
    EXPECT_EQ(answer.rfind(text, 0), 0u) << caps;  // a prefix of the full answer
    EXPECT_LT(text.size(), answer.size() / 2);
  }
  EXPECT_EQ(server.stop(), 0);
  EXPECT_NE(server.stderr_text().find("stopped"), std::string::npos);
}

TEST(ReplayUpstreamE2E, StreamsWithAndWithoutUsage) {
  ReplayProcess server;
  ASSERT_GT(server.port(), 0) << server.stderr_text();
  const std::string q = first_question();
  for (const bool include_usage : {false, true}) {
    json body = chat(q, {{"stream", true}, {"max_tokens", 12}});
    if (include_usage) body["stream_options"] = {{"include_usage", true}};
    const Received r = post(server, "/v1/chat/completions", body);
    ASSERT_EQ(r.error, httplib::Error::Success);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(http::parse_sse(r.body).back(), "[DONE]");
    const auto c = chunks_of(r.body);
    ASSERT_EQ(c.size(), 1u + 12u + (include_usage ? 2u : 1u));
    const json& finish = c[13];
    EXPECT_EQ(finish["choices"][0]["finish_reason"], "length");
    if (include_usage) {
      EXPECT_TRUE(c.back()["choices"].empty());
      EXPECT_EQ(c.back()["usage"]["completion_tokens"], 12);
    } else {
      EXPECT_FALSE(c.back().contains("usage"));
    }
  }
  // The legacy completions endpoint and an unknown prompt (lorem).
  const Received lorem =
      post(server, "/v1/completions", {{"prompt", "Not a recorded question"}, {"stream", true}});
  const auto c = chunks_of(lorem.body);
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c[0]["object"], "text_completion");
  EXPECT_EQ(c[0]["choices"][0]["text"].get<std::string>().rfind("Lorem", 0), 0u);
}

// Each --usage-shape as a client reads it off the wire: where the stream's usage is.
TEST(ReplayUpstreamE2E, UsageShapes) {
  const std::string q = first_question();
  const json body =
      chat(q, {{"stream", true}, {"max_tokens", 6}, {"stream_options", {{"include_usage", true}}}});
  {
    ReplayProcess server({"--usage-shape", "llamacpp"});
    ASSERT_GT(server.port(), 0) << server.stderr_text();
    const auto c = chunks_of(post(server, "/v1/chat/completions", body).body);
    ASSERT_EQ(c.size(), 1u + 6u + 1u);
    EXPECT_EQ(c.back()["choices"][0]["finish_reason"], "length");
    EXPECT_EQ(c.back()["usage"]["completion_tokens"], 6);
    EXPECT_FALSE(c[3].contains("usage"));
  }
  {
    ReplayProcess server({"--usage-shape", "vllm-continuous"});
    ASSERT_GT(server.port(), 0) << server.stderr_text();
    const auto c = chunks_of(post(server, "/v1/chat/completions", body).body);
    ASSERT_EQ(c.size(), 1u + 6u + 2u);
    for (std::size_t i = 1; i <= 6; ++i) EXPECT_EQ(c[i]["usage"]["completion_tokens"], i);
    EXPECT_TRUE(c.back()["choices"].empty());
    EXPECT_EQ(c.back()["usage"]["completion_tokens"], 6);
  }
  {
    ReplayProcess server({"--usage-shape", "none"});
    ASSERT_GT(server.port(), 0) << server.stderr_text();
    const Received r = post(server, "/v1/chat/completions", body);
    EXPECT_EQ(http::parse_sse(r.body).back(), "[DONE]");
    EXPECT_EQ(r.body.find("usage"), std::string::npos);
    const Received plain = post(server, "/v1/chat/completions", chat(q));
    EXPECT_FALSE(json::parse(plain.body).contains("usage"));
  }
}

TEST(ReplayUpstreamE2E, ResponsesWithReasoning) {
  ReplayProcess server({"--reasoning-share", "0.25", "--reasoning-item"});
  ASSERT_GT(server.port(), 0) << server.stderr_text();
  const std::string q = first_question();
  const json request = {
      {"model", "Qwen2-7B-Instruct"},
      {"input", {{{"role", "user"}, {"content", {{{"type", "input_text"}, {"text", q}}}}}}},
      {"max_output_tokens", 20}};
  const Received r = post(server, "/v1/responses", request);
  ASSERT_EQ(r.status, 200) << r.body;
  const json b = json::parse(r.body);
  EXPECT_EQ(b["object"], "response");
  EXPECT_EQ(b["status"], "incomplete");
  EXPECT_EQ(b["incomplete_details"]["reason"], "max_output_tokens");
  ASSERT_EQ(b["output"].size(), 2u);
  EXPECT_EQ(b["output"][0]["type"], "reasoning");
  EXPECT_EQ(b["usage"]["output_tokens"], 20);
  EXPECT_EQ(b["usage"]["output_tokens_details"]["reasoning_tokens"], 5);
  const std::string text = b["output"][1]["content"][0]["text"];

  json streamed = request;
  streamed["stream"] = true;
  const Received s = post(server, "/v1/responses", streamed);
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(s.body.find("[DONE]"), std::string::npos);
  EXPECT_EQ(s.body.rfind("event: response.created\n", 0), 0u);
  const auto events = chunks_of(s.body);
  ASSERT_FALSE(events.empty());
  std::string deltas;
  for (const json& e : events) {
    if (e["type"] == "response.output_text.delta") deltas += e["delta"].get<std::string>();
  }
  EXPECT_EQ(deltas, text);
  EXPECT_EQ(events.back()["type"], "response.incomplete");
  EXPECT_EQ(events.back()["response"]["usage"]["output_tokens_details"]["reasoning_tokens"], 5);

  const Received bad = post(server, "/v1/responses", {{"input", q}, {"max_output_tokens", 0}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["error"]["param"], "max_output_tokens");
}

TEST(ReplayUpstreamE2E, UnknownPromptIsA404WhenAsked) {
  ReplayProcess server({"--unknown", "error"});
  ASSERT_GT(server.port(), 0) << server.stderr_text();
  const Received r = post(server, "/v1/chat/completions", chat("Not a recorded question"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "prompt_not_recorded");
  const Received by_qid = post(server, "/v1/chat/completions", chat("anything"),
                               {{"x-replay-qid", "gsm/gsm8k-main-test-#1"}});
  EXPECT_EQ(by_qid.status, 200);
}

TEST(ReplayUpstreamE2E, InjectedFaults) {
  ReplayProcess server;
  ASSERT_GT(server.port(), 0) << server.stderr_text();
  const std::string q = first_question();
  const Received e =
      post(server, "/v1/chat/completions", chat(q), {{"x-replay-fault", "status=500"}});
  EXPECT_EQ(e.status, 500);
  EXPECT_EQ(json::parse(e.body)["error"]["type"], "server_error");

  // Mid-stream close: three tokens arrive, then the connection drops without [DONE].
  const Received cut = post(server, "/v1/chat/completions", chat(q, {{"stream", true}}),
                            {{"x-replay-fault", "close-after=3"}});
  EXPECT_NE(cut.error, httplib::Error::Success);
  const auto c = chunks_of(cut.body);
  EXPECT_EQ(c.size(), 1u + 3u);
  EXPECT_EQ(cut.body.find("[DONE]"), std::string::npos);

  // A delay longer than the client's read timeout is a timeout for the client.
  httplib::Client slow = server.client();
  slow.set_read_timeout(0, 200'000);
  const auto t = slow.Post("/v1/chat/completions", {{"x-replay-fault", "delay-ms=3000"}},
                           chat(q).dump(), "application/json");
  EXPECT_FALSE(t);
  // The server is still fine afterwards (its stop ends the pending delay at once).
  EXPECT_EQ(post(server, "/v1/chat/completions", chat(q)).status, 200);
  EXPECT_EQ(server.stop(), 0);
}

TEST(ReplayUpstreamE2E, ServerWideFaultOption) {
  ReplayProcess server({"--fault", "status=503"});
  ASSERT_GT(server.port(), 0) << server.stderr_text();
  EXPECT_EQ(post(server, "/v1/chat/completions", chat("x")).status, 503);
}

// How long a paced stream takes is checked on an injected clock (ReplayUpstreamHandler,
// PacingFollowsTheRateOnTheClock); here, that the process's paced stream completes and stops.
TEST(ReplayUpstreamE2E, PacedStreamCompletesAndStopsGracefully) {
  ReplayProcess fast({"--tokens-per-second", "1000"});
  ASSERT_GT(fast.port(), 0) << fast.stderr_text();
  const std::string q = first_question();
  const Received r =
      post(fast, "/v1/chat/completions", chat(q, {{"stream", true}, {"max_tokens", 30}}));
  EXPECT_EQ(http::parse_sse(r.body).back(), "[DONE]");

  // At 1 token/s a 60-token stream would take a minute; SIGTERM after the first chunk makes it
  // finish at once, complete, and the server exit 0.
  ReplayProcess slow({"--tokens-per-second", "1"});
  ASSERT_GT(slow.port(), 0) << slow.stderr_text();
  std::promise<void> first_token;
  bool signalled = false;
  auto result = std::async(std::launch::async, [&] {
    return post(slow, "/v1/chat/completions", chat(q, {{"stream", true}, {"max_tokens", 60}}), {},
                [&](const std::string& body) {
                  if (!signalled && !chunks_of(body).empty()) {
                    signalled = true;
                    first_token.set_value();
                  }
                });
  });
  ASSERT_EQ(first_token.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(slow.stop(), 0);
  const Received done = result.get();  // the rest of the 60 tokens at once, not at 1 per second
  EXPECT_EQ(done.error, httplib::Error::Success);
  EXPECT_EQ(http::parse_sse(done.body).back(), "[DONE]");
  EXPECT_EQ(chunks_of(done.body).size(), 1u + 60u + 1u);
}

TEST(ReplayUpstreamE2E, ABurstOfConcurrentStreamsAllComplete) {
  // cpp-httplib's own listen backlog (5) drops connections in a burst; HttpServer raises it.
  ReplayProcess server({"--tokens-per-second", "200", "--threads", "256"});
  ASSERT_GT(server.port(), 0) << server.stderr_text();
  constexpr int kStreams = 100;
  std::vector<std::future<Received>> results;
  for (int i = 0; i < kStreams; ++i) {
    results.push_back(std::async(std::launch::async, [&] {
      return post(server, "/v1/chat/completions",
                  chat("hello", {{"stream", true}, {"max_tokens", 10}}));
    }));
  }
  int complete = 0;
  for (auto& r : results) {
    const Received got = r.get();
    if (got.status == 200 && http::parse_sse(got.body).back() == "[DONE]") ++complete;
  }
  EXPECT_EQ(complete, kStreams);
}

TEST(ReplayUpstreamE2E, SecondInstanceOnTheSamePortFails) {
  ReplayProcess first;
  ASSERT_GT(first.port(), 0) << first.stderr_text();
  const auto r = clearhouse::testing::run_clearhouse(
      "replay-upstream --data " + std::string(CLEARHOUSE_SOURCE_DIR) + "/data --port " +
      std::to_string(first.port()));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("in use"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("listening"), std::string::npos);
  // The first one still answers.
  auto c = first.client();
  const auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST(ReplayUpstreamE2E, BadOptionsAreUsageErrors) {
  const std::string data = std::string(CLEARHOUSE_SOURCE_DIR) + "/data";
  auto r = clearhouse::testing::run_clearhouse("replay-upstream --data " + data +
                                               " --port 0 --fault explode");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("explode"), std::string::npos) << r.err;
  r = clearhouse::testing::run_clearhouse("replay-upstream --data /nonexistent --port 0");
  EXPECT_EQ(r.exit_code, 2);
  r = clearhouse::testing::run_clearhouse("replay-upstream --data " + data +
                                          " --port 0 --model NoSuchModel");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("NoSuchModel"), std::string::npos) << r.err;
  r = clearhouse::testing::run_clearhouse("replay-upstream --data " + data +
                                          " --port 0 --usage-shape vllm");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("usage shape 'vllm'"), std::string::npos) << r.err;
  r = clearhouse::testing::run_clearhouse("replay-upstream --data " + data +
                                          " --port 0 --reasoning-share 1.5");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--reasoning-share"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace clearhouse::tools
