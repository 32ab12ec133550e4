// The event-driven HttpServer over real sockets on port 0, driven by a raw client so that
// malformed, slow, pipelined and HTTP/1.0 requests can be sent byte for byte.
#include "http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <string>
#include <vector>

#include "support/raw_client.h"

namespace clearhouse::http {
namespace {

using clearhouse::testing::RawClient;

HttpResponse echo(const HttpRequest& request) {
  HttpResponse r;
  r.content_type = "text/plain";
  r.body = request.method + " " + request.path + " [" + request.body + "]";
  return r;
}

class ServerTest : public ::testing::Test {
 protected:
  void start(HttpServerOptions options, HttpHandler handler = echo) {
    server_ = std::make_unique<HttpServer>(std::move(options), std::move(handler));
    port_ = server_->bind();
    server_->start();
  }
  void start_async(HttpServerOptions options, AsyncHttpHandler handler) {
    server_ = std::make_unique<HttpServer>(std::move(options), std::move(handler));
    port_ = server_->bind();
    server_->start();
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(ServerTest, AnswersARequestWithContentLength) {
  start({});
  RawClient client(port_);
  ASSERT_TRUE(client.send("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"));
  const std::string reply = client.read_until("[abc]");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("Content-Length: 13\r\n"), std::string::npos) << reply;
  EXPECT_NE(reply.find("POST /x [abc]"), std::string::npos) << reply;
}

TEST_F(ServerTest, AnswersPipelinedRequestsInOrder) {
  start({});
  RawClient client(port_);
  ASSERT_TRUE(
      client.send("GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
                  "POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
                  "GET /three HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  const std::string reply = client.read_all();
  const auto one = reply.find("GET /one []");
  const auto two = reply.find("POST /two [hi]");
  const auto three = reply.find("GET /three []");
  ASSERT_NE(one, std::string::npos) << reply;
  ASSERT_NE(two, std::string::npos) << reply;
  ASSERT_NE(three, std::string::npos) << reply;
  EXPECT_LT(one, two);
  EXPECT_LT(two, three);
}

TEST_F(ServerTest, RefusesTooManyHeaderFieldsWith431) {
  start({.max_header_count = 10});
  RawClient client(port_);
  std::string request = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 20; ++i) request += "X-" + std::to_string(i) + ": v\r\n";
  ASSERT_TRUE(client.send(request + "\r\n"));
  const std::string reply = client.read_all();
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply;
  EXPECT_NE(reply.find("invalid_request_error"), std::string::npos) << reply;
}

TEST_F(ServerTest, RefusesAHeaderSectionOverTheByteLimitWith431) {
  start({.max_header_bytes = 1024});
  RawClient client(port_);
  ASSERT_TRUE(
      client.send("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(4096, 'x') + "\r\n\r\n"));
  EXPECT_EQ(client.read_all().rfind("HTTP/1.1 431", 0), 0u);
}

TEST_F(ServerTest, RefusesALongTargetWith414) {
  start({.max_url_bytes = 64});
  RawClient client(port_);
  ASSERT_TRUE(client.send("GET /" + std::string(100, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(client.read_all().rfind("HTTP/1.1 414", 0), 0u);
}

TEST_F(ServerTest, LimitsAChunkedBodyLikeAnyOther) {
  start({.max_body_bytes = 1000});
  RawClient client(port_);
  ASSERT_TRUE(client.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "200\r\n" + std::string(512, 'x') + "\r\n";
  // 4 chunks of 512 bytes: over the limit after the second; the server may close before the rest.
  for (int i = 0; i < 4; ++i) client.send(chunk);
  client.send("0\r\n\r\n");
  const std::string reply = client.read_all();
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply;
}

TEST_F(ServerTest, AcceptsAChunkedBodyWithinTheLimit) {
  start({.max_body_bytes = 1000});
  RawClient client(port_);
  ASSERT_TRUE(client.send(
      "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
  EXPECT_NE(client.read_all().find("POST /c [abcde]"), std::string::npos);
}

TEST_F(ServerTest, AdmitHeadAnswersBeforeTheBodyIsRead) {
  std::atomic<int> handled{0};
  HttpServerOptions options;
  options.admit_head = [](HttpRequest& head) -> std::optional<HttpResponse> {
    if (head.header("authorization") == "Bearer good") return std::nullopt;
    return error_response(401, "bad key");
  };
  start(options, [&handled](const HttpRequest& r) {
    ++handled;
    return echo(r);
  });
  RawClient client(port_);
  // Announces a megabyte and sends none of it: the 401 must come anyway.
  ASSERT_TRUE(client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n"));
  const std::string reply = client.read_all();
  EXPECT_EQ(reply.rfind("HTTP/1.1 401", 0), 0u) << reply;
  EXPECT_EQ(handled.load(), 0);

  RawClient good(port_);
  ASSERT_TRUE(
      good.send("POST /k HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer good\r\nContent-Length: 1\r\n"
                "Connection: close\r\n\r\nz"));
  EXPECT_NE(good.read_all().find("POST /k [z]"), std::string::npos);
}

TEST_F(ServerTest, ClosesAConnectionWhoseHeaderSectionIsTooSlow) {
  start({.header_timeout = std::chrono::milliseconds(200)});
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 50; ++i) {
    slow.push_back(std::make_unique<RawClient>(port_));
    ASSERT_TRUE(slow.back()->send("GET / HTTP/1.1\r\nHost: a\r\n"));  // never finished
  }
  // A real request is served while they hang.
  RawClient real(port_);
  ASSERT_TRUE(real.send("GET /real HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  EXPECT_NE(real.read_all().find("GET /real []"), std::string::npos);
  // And each slow one is closed once its header deadline passed, with nothing sent.
  for (auto& client : slow) {
    EXPECT_EQ(client->read_all(), "");
    EXPECT_TRUE(client->closed_by_server());
  }
}

TEST_F(ServerTest, StreamsABlockingProducerChunked) {
  start({}, [](const HttpRequest&) {
    HttpResponse r;
    r.content_type = "text/event-stream";
    r.stream = [](BodyWriter& out) { return out.write("data: 1\n\n") && out.write("data: 2\n\n"); };
    return r;
  });
  RawClient client(port_);
  ASSERT_TRUE(client.send("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  const std::string reply = client.read_all();
  EXPECT_NE(reply.find("Transfer-Encoding: chunked"), std::string::npos) << reply;
  EXPECT_NE(reply.find("9\r\ndata: 1\n\n\r\n9\r\ndata: 2\n\n\r\n0\r\n\r\n"), std::string::npos)
      << reply;
}

TEST_F(ServerTest, StreamsToAnHttp10ClientWithoutChunkedEncoding) {
  start({}, [](const HttpRequest&) {
    HttpResponse r;
    r.content_type = "text/event-stream";
    r.stream = [](BodyWriter& out) { return out.write("data: a\n\n"); };
    return r;
  });
  RawClient client(port_);
  ASSERT_TRUE(client.send("GET / HTTP/1.0\r\n\r\n"));
  const std::string reply = client.read_all();
  EXPECT_EQ(reply.rfind("HTTP/1.0 200", 0), 0u) << reply;
  EXPECT_EQ(reply.find("chunked"), std::string::npos) << reply;
  EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
  EXPECT_EQ(reply.substr(reply.size() - 9), "data: a\n\n");
}

TEST_F(ServerTest, RunsAnAsyncHandlerAndAnAsyncStreamOnTheEventLoop) {
  start_async({}, [](const HttpRequest& request) -> Task<HttpResponse> {
    // Waits on a timer: a coroutine suspended, no thread held.
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor,
                                    std::chrono::milliseconds(1));
    co_await timer.async_wait(clearhouse::http::use_task);
    HttpResponse r;
    r.content_type = "text/event-stream";
    r.async_stream = [path = request.path](AsyncBodyWriter& out) -> Task<bool> {
      if (!co_await out.write("data: " + path + "\n\n")) co_return false;
      co_return co_await out.write("data: [DONE]\n\n");
    };
    co_return r;
  });
  RawClient client(port_);
  ASSERT_TRUE(client.send("GET /s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  const std::string reply = client.read_all();
  EXPECT_NE(reply.find("data: /s\n\n"), std::string::npos) << reply;
  EXPECT_NE(reply.find("data: [DONE]\n\n\r\n0\r\n\r\n"), std::string::npos) << reply;
}

TEST_F(ServerTest, AnAsyncHandlersExceptionIsA500ForThatRequestOnly) {
  start_async({}, [](const HttpRequest& request) -> Task<HttpResponse> {
    if (request.path == "/boom") throw std::runtime_error("boom");
    co_return echo(request);
  });
  RawClient client(port_);
  ASSERT_TRUE(client.send(
      "GET /boom HTTP/1.1\r\nHost: a\r\n\r\nGET /fine HTTP/1.1\r\nHost: a\r\nConnection: "
      "close\r\n\r\n"));
  const std::string reply = client.read_all();
  EXPECT_EQ(reply.rfind("HTTP/1.1 500", 0), 0u) << reply;
  EXPECT_NE(reply.find("GET /fine []"), std::string::npos) << reply;
}

TEST_F(ServerTest, RefusesConnectionsBeyondThePerClientLimit) {
  start({.max_connections_per_client = 2});
  RawClient a(port_), b(port_);
  ASSERT_TRUE(a.send("GET /a HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(b.send("GET /b HTTP/1.1\r\nHost: a\r\n\r\n"));
  a.read_until("GET /a []");
  b.read_until("GET /b []");
  RawClient c(port_);
  const std::string reply = c.read_all();
  EXPECT_EQ(reply.rfind("HTTP/1.1 503", 0), 0u) << reply;
  EXPECT_NE(reply.find("too_many_connections"), std::string::npos) << reply;
}

TEST_F(ServerTest, StopClosesIdleKeepAliveConnections) {
  start({.keep_alive_timeout = std::chrono::milliseconds(60'000)});
  RawClient client(port_);
  ASSERT_TRUE(client.send("GET /a HTTP/1.1\r\nHost: a\r\n\r\n"));
  client.read_until("GET /a []");
  server_->stop();  // returns although the connection could idle for a minute
  EXPECT_EQ(client.read_all(), "");
  EXPECT_EQ(server_->open_connections(), 0u);
}

TEST_F(ServerTest, ASecondServerOnThePortFailsToBind) {
  start({});
  HttpServer second({.port = port_}, echo);
  EXPECT_THROW(second.bind(), HttpBindError);
}

}  // namespace
}  // namespace clearhouse::http

namespace clearhouse::http {
namespace {

TEST_F(ServerTest, AProducerThatFailsDropsTheConnectionWithoutEndingTheBody) {
  start({}, [](const HttpRequest&) {
    HttpResponse r;
    r.content_type = "text/event-stream";
    r.stream = [](BodyWriter& out) {
      (void)out.write("data: 1\n\n");
      return false;
    };
    return r;
  });
  RawClient client(port_);
  ASSERT_TRUE(client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  const std::string reply = client.read_all();
  EXPECT_NE(reply.find("data: 1\n\n"), std::string::npos) << reply;
  EXPECT_EQ(reply.find("0\r\n\r\n"), std::string::npos) << reply;
  EXPECT_TRUE(client.closed_by_server());
}

}  // namespace
}  // namespace clearhouse::http
