// AsyncUpstreamClient against a real HttpServer on port 0, each call run to completion on a
// private event loop.
#include "http/async_upstream_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <thread>

#include "http/server.h"

namespace clearhouse::http {
namespace {

UpstreamReply run(Task<UpstreamReply> task) {
  boost::asio::io_context loop;
  std::optional<UpstreamReply> out;
  boost::asio::co_spawn(loop, std::move(task), [&](std::exception_ptr e, UpstreamReply r) {
    if (e) std::rethrow_exception(e);
    out = std::move(r);
  });
  loop.run();
  return std::move(*out);
}

class AsyncUpstreamClientTest : public ::testing::Test {
 protected:
  void serve(HttpHandler handler, HttpServerOptions options = {}) {
    server_ = std::make_unique<HttpServer>(std::move(options), std::move(handler));
    port_ = server_->bind();
    server_->start();
  }
  void TearDown() override {
    if (server_) server_->stop();
  }
  [[nodiscard]] UpstreamEndpoint endpoint() const {
    return {.name = "fake", .base_url = "http://127.0.0.1:" + std::to_string(port_) + "/v1/"};
  }

  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(AsyncUpstreamClientTest, PostsTheBodyToThePrefixedPathAndCollectsTheAnswer) {
  serve([](const HttpRequest& r) {
    HttpResponse out;
    out.body = r.path + " " + std::string(r.header("authorization")) + " " + r.body;
    return out;
  });
  UpstreamEndpoint e = endpoint();
  e.api_key = "sk-up";
  AsyncUpstreamClient client(e);
  const UpstreamReply reply = run(client.post_collect("/chat/completions", R"({"a":1})"));
  EXPECT_EQ(reply.failure, UpstreamFailure::kNone);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, R"(/v1/chat/completions Bearer sk-up {"a":1})");
}

TEST_F(AsyncUpstreamClientTest, HandsAStreamedBodyToTheSinkInOrder) {
  serve([](const HttpRequest&) {
    HttpResponse out;
    out.content_type = "text/event-stream";
    out.stream = [](BodyWriter& w) {
      for (int i = 0; i < 50; ++i) {
        if (!w.write("data: " + std::to_string(i) + "\n\n")) return false;
      }
      return true;
    };
    return out;
  });
  AsyncUpstreamClient client(endpoint());
  std::string seen;
  const UpstreamReply reply =
      run(client.post("/x", "{}", [&seen](int status, std::string_view bytes) -> Task<bool> {
        EXPECT_EQ(status, 200);
        seen.append(bytes);
        co_return true;
      }));
  EXPECT_EQ(reply.failure, UpstreamFailure::kNone);
  std::string expected;
  for (int i = 0; i < 50; ++i) expected += "data: " + std::to_string(i) + "\n\n";
  EXPECT_EQ(seen, expected);
}

TEST_F(AsyncUpstreamClientTest, ARefusedConnectionIsAConnectFailure) {
  serve([](const HttpRequest&) { return HttpResponse{}; });
  const UpstreamEndpoint e = endpoint();
  server_->stop();
  server_.reset();  // the port is closed now
  AsyncUpstreamClient client(e);
  const UpstreamReply reply = run(client.post_collect("/x", "{}"));
  EXPECT_EQ(reply.failure, UpstreamFailure::kConnect);
  EXPECT_EQ(reply.status, 0);
  EXPECT_NE(reply.message.find("cannot connect"), std::string::npos) << reply.message;
}

TEST_F(AsyncUpstreamClientTest, ASilentUpstreamIsATimeout) {
  auto release = std::make_shared<std::atomic<bool>>(false);
  serve([release](const HttpRequest&) {
    while (!*release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return HttpResponse{};
  });
  // However the test ends, the handler is released before the server stops.
  struct Release {
    std::shared_ptr<std::atomic<bool>> flag;
    ~Release() { *flag = true; }
  } on_exit{release};
  UpstreamEndpoint e = endpoint();
  e.read_timeout_seconds = 0.05;
  AsyncUpstreamClient client(e);
  const UpstreamReply reply = run(client.post_collect("/x", "{}"));
  EXPECT_EQ(reply.failure, UpstreamFailure::kTimeout) << reply.message;
}

TEST_F(AsyncUpstreamClientTest, ASinkThatStopsCancelsTheCall) {
  serve([](const HttpRequest&) {
    HttpResponse out;
    out.stream = [](BodyWriter& w) {
      while (w.write(std::string(1000, 'x'))) {
      }
      return false;
    };
    return out;
  });
  AsyncUpstreamClient client(endpoint());
  int pieces = 0;
  const UpstreamReply reply = run(client.post(
      "/x", "{}", [&pieces](int, std::string_view) -> Task<bool> { co_return ++pieces < 3; }));
  EXPECT_EQ(reply.failure, UpstreamFailure::kCanceled);
  EXPECT_EQ(pieces, 3);
}

TEST_F(AsyncUpstreamClientTest, ReportsStatusAndRetryAfter) {
  serve([](const HttpRequest&) {
    HttpResponse out = error_response(429, "slow down");
    out.headers.emplace_back("Retry-After", "7");
    return out;
  });
  AsyncUpstreamClient client(endpoint());
  const UpstreamReply reply = run(client.post_collect("/x", "{}"));
  EXPECT_EQ(reply.failure, UpstreamFailure::kNone);
  EXPECT_EQ(reply.status, 429);
  EXPECT_EQ(reply.retry_after, "7");
  EXPECT_NE(reply.body.find("slow down"), std::string::npos);
}

TEST_F(AsyncUpstreamClientTest, ReusesAConnectionAndReplacesOneTheUpstreamClosed) {
  serve(
      [](const HttpRequest& r) {
        HttpResponse out;
        out.body = r.body;
        return out;
      },
      {.keep_alive_timeout = std::chrono::milliseconds(50)});
  AsyncUpstreamClient client(endpoint());
  boost::asio::io_context loop;  // one loop: the idle connection is pooled on it
  std::vector<UpstreamReply> replies;
  boost::asio::co_spawn(
      loop,
      [&]() -> Task<void> {
        replies.push_back(co_await client.post_collect("/x", "one"));
        replies.push_back(co_await client.post_collect("/x", "two"));  // reused
        // Wait until the upstream closed the idle connection, then call again.
        while (server_->open_connections() > 0) {
          boost::asio::steady_timer t(co_await boost::asio::this_coro::executor,
                                      std::chrono::milliseconds(5));
          co_await t.async_wait(clearhouse::http::use_task);
        }
        replies.push_back(co_await client.post_collect("/x", "three"));
      },
      boost::asio::detached);
  loop.run();
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0].body, "one");
  EXPECT_EQ(replies[1].body, "two");
  EXPECT_EQ(replies[2].failure, UpstreamFailure::kNone) << replies[2].message;
  EXPECT_EQ(replies[2].body, "three");
}

TEST(AsyncUpstreamClientUrl, RefusesWhatIsNotAnHttpUrl) {
  EXPECT_THROW(AsyncUpstreamClient({.name = "x", .base_url = "ftp://a"}), UpstreamUrlError);
  EXPECT_FALSE(AsyncUpstreamClient::supports("https://api.openai.com"));
  EXPECT_TRUE(AsyncUpstreamClient::supports("http://127.0.0.1:8000"));
}

}  // namespace
}  // namespace clearhouse::http
