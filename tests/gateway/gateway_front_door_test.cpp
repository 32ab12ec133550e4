// The gateway's front door against hostile clients, end to end over real sockets (findings 4 and 5
// of the front-door review, each reproduced on the thread-per-connection server): bodies and
// headers without bounds, the body read before the key was checked, idle and slow connections
// holding the server, pipelined requests dropped.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "gateway_test_util.h"
#include "support/raw_client.h"

namespace clearhouse::gateway::testing {
namespace {

using clearhouse::testing::RawClient;

constexpr const char* kChat = "/v1/chat/completions";

std::string post_head(const std::string& key, const std::string& extra) {
  return std::string("POST ") + kChat +
         " HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n" +
         (key.empty() ? "" : "Authorization: Bearer " + key + "\r\n") + extra;
}

std::string post(const std::string& key, const std::string& body, bool close) {
  return post_head(key, "Content-Length: " + std::to_string(body.size()) + "\r\n" +
                            (close ? "Connection: close\r\n" : "") + "\r\n") +
         body;
}

// Was: a 512 MiB chunked body without a key was read (1.06 GB of memory) before its 401.
TEST(GatewayFrontDoor, AnswersAMissingKeyBeforeReadingTheBody) {
  GatewayRig rig;
  RawClient client(rig.port());
  // A chunked body announced and never sent: the 401 comes on the head alone.
  ASSERT_TRUE(client.send(post_head("", "Transfer-Encoding: chunked\r\n\r\n")));
  const std::string reply = client.read_all();
  EXPECT_EQ(reply.rfind("HTTP/1.1 401", 0), 0u) << reply;
  EXPECT_NE(reply.find("authentication_error"), std::string::npos) << reply;
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_TRUE(rig.ledger_settled());
}

// Was: max_body_bytes did not apply to chunked bodies (2 MiB accepted).
TEST(GatewayFrontDoor, LimitsAChunkedBodyWith413) {
  GatewayRig rig({.configure = [](GatewayConfig& c) { c.limits.max_body_bytes = 4096; }});
  RawClient client(rig.port());
  ASSERT_TRUE(client.send(post_head(kAliceKey, "Transfer-Encoding: chunked\r\n\r\n")));
  const std::string chunk = "1000\r\n" + std::string(4096, ' ') + "\r\n";
  client.send(chunk);
  client.send(chunk);  // the server may have closed already
  const std::string reply = client.read_all();
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply;
  EXPECT_EQ(rig.spent(), 0);
}

// Was: the number of headers was unbounded (a million headers: a 200 after 4.8 s of CPU).
TEST(GatewayFrontDoor, RefusesTooManyHeadersWith431) {
  GatewayRig rig;
  RawClient client(rig.port());
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "X-H" + std::to_string(i) + ": 1\r\n";
  ASSERT_TRUE(client.send(post_head(kAliceKey, many + "Content-Length: 2\r\n\r\n{}")));
  const std::string reply = client.read_all();
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply;
}

// Was: an invalid UTF-8 body was a 500 with internal text.
TEST(GatewayFrontDoor, AnInvalidUtf8BodyIsA400) {
  GatewayRig rig;
  RawClient client(rig.port());
  const std::string body =
      "{\"model\": \"Qwen2-7B-Instruct\", \"messages\": [{\"role\": \"user\", "
      "\"content\": \"\xff\xfe\"}]}";
  ASSERT_TRUE(client.send(post(kAliceKey, body, true)));
  const std::string reply = client.read_all();
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  EXPECT_EQ(reply.find("internal"), std::string::npos) << reply;
}

// Was: pipelined requests after the first were silently dropped.
TEST(GatewayFrontDoor, AnswersPipelinedRequestsInOrder) {
  GatewayRig rig;
  RawClient client(rig.port());
  const std::string first = chat_body(long_answer(), {{"max_tokens", 3}}).dump();
  ASSERT_TRUE(client.send(post(kAliceKey, first, false) +
                          "GET /health HTTP/1.1\r\nHost: a\r\n\r\n" +
                          post(kAliceKey, first, true)));
  const std::string reply = client.read_all();
  EXPECT_EQ(RawClient::count(reply, "HTTP/1.1 200 OK"), 3) << reply;
  const auto health = reply.find("\"status\"");
  const auto first_completion = reply.find("chat.completion");
  const auto last_completion = reply.rfind("chat.completion");
  ASSERT_NE(health, std::string::npos) << reply;
  EXPECT_LT(first_completion, health);
  EXPECT_GT(last_completion, health);
}

// Was: 1,500 silent connections took 183% CPU and 2,100 slowloris connections blocked every real
// request for 25 s. Now neither holds a thread: a real request is answered while they hang, and
// the slow ones are closed at their header deadline.
TEST(GatewayFrontDoor, IdleAndSlowConnectionsDoNotHoldRealRequests) {
  GatewayRig rig({.configure = [](GatewayConfig& c) { c.limits.header_timeout_seconds = 0.5; }});
  std::vector<std::unique_ptr<RawClient>> idle, slow;
  for (int i = 0; i < 300; ++i) {
    idle.push_back(std::make_unique<RawClient>(rig.port()));
    slow.push_back(std::make_unique<RawClient>(rig.port()));
    ASSERT_TRUE(slow.back()->send(post_head(kAliceKey, "X-Slow: a")));  // never finished
  }
  for (int i = 0; i < 5; ++i) {
    RawClient real(rig.port());
    ASSERT_TRUE(
        real.send(post(kAliceKey, chat_body(long_answer(), {{"max_tokens", 3}}).dump(), true)));
    const std::string reply = real.read_all();
    EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  }
  for (auto& client : slow) {
    client->read_all();
    EXPECT_TRUE(client->closed_by_server());
  }
}

}  // namespace
}  // namespace clearhouse::gateway::testing
