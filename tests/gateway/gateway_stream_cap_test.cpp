// An upstream that streams past the cap it was sent (it ignores max_tokens): the gateway cuts the
// stream at the cap, closes the upstream's connection, charges the reservation, and tells the
// client with an error event, so no client gets, and no ledger counts, more than was reserved.
#include <gtest/gtest.h>

#include <string>

#include "gateway_test_util.h"
#include "http/server.h"

namespace clearhouse::gateway::testing {
namespace {

// Streams `chunks` content chunks whatever the request asks, then [DONE].
http::HttpResponse runaway_stream(int chunks) {
  http::HttpResponse r;
  r.content_type = "text/event-stream";
  r.stream = [chunks](http::BodyWriter& out) {
    for (int i = 0; i < chunks; ++i) {
      if (!out.write(R"(data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,)"
                     R"("delta":{"content":"y"},"finish_reason":null}]})"
                     "\n\n")) {
        return false;
      }
    }
    return out.write("data: [DONE]\n\n");
  };
  return r;
}

TEST(GatewayStreamCap, CutsAStreamThatGoesPastItsCapAndChargesTheReservation) {
  http::HttpServer runaway({}, [](const http::HttpRequest&) { return runaway_stream(500); });
  const int port = runaway.bind();
  runaway.start();
  GatewayRig rig({.configure = [port](GatewayConfig& c) {
    c.upstreams[0].base_url = "http://127.0.0.1:" + std::to_string(port);
  }});
  const StreamReply s = rig.stream(
      "/v1/chat/completions", chat_body(long_answer(), {{"stream", true}, {"max_tokens", 10}}));
  EXPECT_FALSE(s.ends_with_done()) << s.body;
  EXPECT_EQ(s.content_chunks(), 10) << s.body;
  ASSERT_TRUE(s.has_error_event()) << s.body;
  EXPECT_NE(s.body.find("past the cap"), std::string::npos) << s.body;
  // The stream ends cleanly after its error event: the client reads why, not a reset connection.
  EXPECT_EQ(s.error, httplib::Error::Success) << httplib::to_string(s.error);
  const auto record = rig.record(s);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->used_tokens, 10);
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(metric_value(rig.get("/metrics").body, "clearhouse_upstream_errors_total",
                         R"(upstream="replay",kind="protocol")"),
            1.0);
  runaway.stop();
}

}  // namespace
}  // namespace clearhouse::gateway::testing
