// UpstreamClient against an HttpServer on 127.0.0.1 port 0: a response's status, body and
// Retry-After header come back in the reply; a refused connection is a kConnect failure value.

#include "http/upstream_client.h"

#include <gtest/gtest.h>

#include "http/server.h"

namespace clearhouse::http {
namespace {

UpstreamEndpoint endpoint(int port) {
  UpstreamEndpoint e;
  e.name = "test";
  e.base_url = "http://127.0.0.1:" + std::to_string(port);
  return e;
}

TEST(UpstreamClient, ReportsStatusBodyAndRetryAfter) {
  HttpServer server({}, [](const HttpRequest&) {
    HttpResponse response;
    response.status = 429;
    response.headers.emplace_back("Retry-After", "3");
    response.body = R"({"error": {"message": "slow down"}})";
    return response;
  });
  const int port = server.bind();
  server.start();
  UpstreamClient client(endpoint(port));
  const UpstreamReply reply = client.post_collect("/v1/completions", "{}");
  EXPECT_EQ(reply.failure, UpstreamFailure::kNone);
  EXPECT_EQ(reply.status, 429);
  EXPECT_EQ(reply.retry_after, "3");
  EXPECT_EQ(reply.body, R"({"error": {"message": "slow down"}})");
  server.stop();
}

TEST(UpstreamClient, NoRetryAfterHeaderIsEmpty) {
  HttpServer server({}, [](const HttpRequest&) { return HttpResponse{}; });
  const int port = server.bind();
  server.start();
  UpstreamClient client(endpoint(port));
  const UpstreamReply reply = client.post_collect("/v1/completions", "{}");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.retry_after, "");
  server.stop();
}

}  // namespace
}  // namespace clearhouse::http
