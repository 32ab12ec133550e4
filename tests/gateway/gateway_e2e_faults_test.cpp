// End to end, in one process over real sockets (gateway_test_util.h): what the client sees and what
// the ledger counts when the upstream fails (an error status, a timeout, a stream cut mid-way, no
// upstream at all, no usage reported) and when the client leaves in the middle of a stream. The
// faults are asked of the replay upstream through the body field metadata.replay_fault, which the
// gateway passes through.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <string>

#include "gateway_test_util.h"
#include "openai/stream_relay.h"

namespace clearhouse::gateway::testing {
namespace {

using std::chrono::milliseconds;

constexpr const char* kChat = "/v1/chat/completions";

// Short upstream timeouts, so a slow upstream is a timeout within a fraction of a second.
void short_timeouts(GatewayConfig& c) {
  c.upstreams[0].connect_timeout_seconds = 1.0;
  c.upstreams[0].read_timeout_seconds = 0.3;
  c.upstreams[0].total_timeout_seconds = 5.0;
}

TEST(GatewayE2EFaults, UpstreamErrorStatusIs502AndSettledWithNothingUsed) {
  GatewayRig rig;
  const Reply r =
      rig.post(kChat, with_fault(chat_body(long_answer(), {{"max_tokens", 50}}), "status=500"));
  ASSERT_EQ(r.status, 502) << r.body;
  EXPECT_TRUE(is_openai_error(r.body, "upstream_error"));
  EXPECT_NE(r.json_body()["error"]["message"].get<std::string>().find("500"), std::string::npos)
      << r.body;
  const auto record = rig.record(r);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->state, ledger::RequestState::kSettled);
  EXPECT_EQ(record->used_tokens, 0);
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), 0);
  EXPECT_EQ(metric_value(rig.get("/metrics").body, "clearhouse_upstream_errors_total",
                         R"(upstream="replay",kind="status")"),
            1.0);
}

TEST(GatewayE2EFaults, UpstreamRejectingTheRequestPassesItsClientErrorOn) {
  GatewayRig rig;
  const Reply r = rig.post(kChat, with_fault(chat_body(long_answer()), "status=400"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(is_openai_error(r.body));
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), 0);
}

TEST(GatewayE2EFaults, StreamFromAnErroringUpstreamEndsWithAnErrorEventAndNothingSpent) {
  GatewayRig rig;
  const StreamReply s = rig.stream(
      kChat,
      with_fault(chat_body(long_answer(), {{"stream", true}, {"max_tokens", 50}}), "status=503"));
  EXPECT_FALSE(s.ends_with_done());
  EXPECT_TRUE(s.has_error_event()) << s.body;
  EXPECT_EQ(s.content_chunks(), 0);
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), 0);
}

TEST(GatewayE2EFaults, UpstreamSlowerThanTheReadTimeoutIs504AndCountsTheReservation) {
  GatewayRig rig({.configure = short_timeouts, .real_time = true});
  const Reply r =
      rig.post(kChat, with_fault(chat_body(long_answer(), {{"max_tokens", 60}}), "delay-ms=5000"));
  // The gateway's read timeout answered, not the upstream's delayed reply.
  ASSERT_EQ(r.status, 504) << r.body;
  EXPECT_TRUE(is_openai_error(r.body, "upstream_timeout"));
  const auto record = rig.record(r);
  ASSERT_TRUE(record);
  // The upstream may have generated all it was allowed: the whole reservation is counted.
  EXPECT_EQ(record->state, ledger::RequestState::kSettled);
  EXPECT_EQ(record->used_tokens, 60);
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), 60);
  EXPECT_EQ(metric_value(rig.get("/metrics").body, "clearhouse_upstream_errors_total",
                         R"(upstream="replay",kind="timeout")"),
            1.0);
}

TEST(GatewayE2EFaults, StreamFromAnUpstreamSlowerThanTheReadTimeoutEndsWithATimeoutEvent) {
  GatewayRig rig({.configure = short_timeouts, .real_time = true});
  const StreamReply s =
      rig.stream(kChat, with_fault(chat_body(long_answer(), {{"stream", true}, {"max_tokens", 60}}),
                                   "delay-ms=5000"));
  EXPECT_FALSE(s.ends_with_done());
  ASSERT_TRUE(s.has_error_event()) << s.body;
  EXPECT_EQ(s.chunks().back()["error"]["code"], "upstream_timeout") << s.body;
  const auto record = rig.record(s);
  ASSERT_TRUE(record);
  // Nothing arrived, so nothing is known of what was generated: the whole reservation counts.
  EXPECT_EQ(record->used_tokens, 60);
  EXPECT_TRUE(rig.ledger_settled());
}

TEST(GatewayE2EFaults, StreamCutByTheUpstreamEndsWithoutDoneAndCountsWhatWasGenerated) {
  GatewayRig rig;
  constexpr std::int64_t kCutAfter = 7;
  const StreamReply s =
      rig.stream(kChat, with_fault(chat_body(long_answer(), {{"stream", true}, {"max_tokens", 80}}),
                                   "close-after=" + std::to_string(kCutAfter)));
  EXPECT_EQ(s.status, 200);
  EXPECT_FALSE(s.ends_with_done());
  EXPECT_TRUE(s.has_error_event()) << s.body;
  EXPECT_EQ(s.content_chunks(), kCutAfter);
  const auto record = rig.record(s);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->state, ledger::RequestState::kSettled);
  EXPECT_EQ(record->reserved_tokens, 80);
  EXPECT_EQ(record->used_tokens, kCutAfter);  // one token per chunk that arrived
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), kCutAfter);
}

TEST(GatewayE2EFaults, ResponseCutBeforeItsBodyIs502AndCountsTheReservation) {
  GatewayRig rig;
  const Reply r =
      rig.post(kChat, with_fault(chat_body(long_answer(), {{"max_tokens", 45}}), "close-after=0"));
  ASSERT_EQ(r.status, 502) << r.body;
  EXPECT_TRUE(is_openai_error(r.body, "upstream_error"));
  const auto record = rig.record(r);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->used_tokens, 45);  // it may have generated; nothing tells how much
  EXPECT_TRUE(rig.ledger_settled());
}

TEST(GatewayE2EFaults, UpstreamDownIs502AndReleasesTheReservation) {
  GatewayRig rig({.configure = {}, .upstream_down = true});
  const Reply r = rig.post(kChat, chat_body(long_answer(), {{"max_tokens", 50}}));
  ASSERT_EQ(r.status, 502) << r.body;
  EXPECT_TRUE(is_openai_error(r.body, "upstream_unavailable"));
  const auto record = rig.record(r);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->state, ledger::RequestState::kReleased);
  EXPECT_EQ(record->used_tokens, 0);

  const StreamReply s =
      rig.stream(kChat, chat_body(long_answer(), {{"max_tokens", 50}, {"stream", true}}));
  EXPECT_FALSE(s.ends_with_done());
  ASSERT_TRUE(s.has_error_event()) << s.body;
  EXPECT_EQ(s.chunks().back()["error"]["code"], "upstream_unavailable") << s.body;
  const auto stream_record = rig.record(s);
  ASSERT_TRUE(stream_record);
  EXPECT_EQ(stream_record->state, ledger::RequestState::kReleased);

  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), 0);
  EXPECT_EQ(metric_value(rig.get("/metrics").body, "clearhouse_upstream_errors_total",
                         R"(upstream="replay",kind="connect")"),
            2.0);
}

TEST(GatewayE2EFaults, UpstreamWithoutUsageIsSettledWithAnEstimate) {
  GatewayRig rig;
  const Reply r =
      rig.post(kChat, with_fault(chat_body(long_answer(), {{"max_tokens", 60}}), "no-usage"));
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = r.json_body();
  EXPECT_FALSE(body.contains("usage") && body["usage"].is_object()) << r.body;
  const std::string text = body["choices"][0]["message"]["content"];
  const auto record = rig.record(r);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->state, ledger::RequestState::kSettled);
  EXPECT_EQ(record->used_tokens,
            std::min<std::int64_t>(60, openai::estimate_tokens_from_text(text)));
  EXPECT_GT(*record->used_tokens, 0);

  const StreamReply s = rig.stream(
      kChat,
      with_fault(chat_body(long_answer(), {{"max_tokens", 60}, {"stream", true}}), "no-usage"));
  ASSERT_TRUE(s.ends_with_done()) << s.body;
  const auto stream_record = rig.record(s);
  ASSERT_TRUE(stream_record);
  EXPECT_EQ(stream_record->used_tokens, s.content_chunks());  // one token per chunk
  EXPECT_EQ(s.content_chunks(), 60);
  EXPECT_TRUE(rig.ledger_settled());
}

// A raw client: sends one request and reads the response until `enough` says so, then closes the
// socket without reading the rest (as a browser tab closed mid-answer does).
class RawClient {
 public:
  explicit RawClient(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawClient() { close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  [[nodiscard]] bool connected() const { return connected_; }

  bool send_post(const std::string& path, const std::string& key, const std::string& body) {
    const std::string request =
        "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "Authorization: Bearer " + key +
        "\r\n" +
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\n\r\n" + body;
    std::size_t sent = 0;
    while (sent < request.size()) {
      const ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Reads until enough(bytes so far) holds; false when the stream ended or the timeout passed
  // first.
  template <typename Enough>
  bool read_until(Enough enough, milliseconds timeout) {
    (void)eventually(
        [&] {
          if (enough(received)) return true;
          const bool open = receive_available();
          return !open || enough(received);  // no more polls once the stream ended
        },
        timeout);
    return enough(received);
  }

  // Appends what has arrived, without waiting; false at the end of the stream or on an error.
  bool receive_available() {
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, 0);
    if (ready == 0) return true;
    if (ready < 0) return false;
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    if (n <= 0) return false;
    received.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  std::string received;

 private:
  int fd_;
  bool connected_ = false;
};

// The content chunks among the SSE events of a raw HTTP/1.1 response. The chunked framing needs no
// decoding: the gateway writes whole events per chunk, so a chunk-size line is a line of its own,
// which the SSE parser ignores as an unknown field.
std::int64_t raw_content_chunks(const std::string& raw) {
  const std::size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return 0;
  StreamReply s;
  s.payloads = http::parse_sse(std::string_view(raw).substr(head_end + 4));
  return s.content_chunks();
}

// Finding 6 of the front-door review: a client that left mid-stream was charged what the gateway
// had read (260 tokens of 512 the upstream generated and bills). Now the rest of the upstream's
// stream is read, not forwarded, and the request is charged what the upstream generated.
TEST(GatewayE2EFaults, ClientLeavingMidStreamIsChargedWhatTheUpstreamGenerated) {
  // 400 tokens per second and a cap of kGatewayCap tokens: the stream goes on after the client
  // left.
  GatewayRig rig({.configure = {}, .tokens_per_second = 400, .real_time = true});
  const json body = chat_body(long_answer(), {{"stream", true}});
  RawClient client(rig.port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send_post(kChat, kAliceKey, body.dump()));
  ASSERT_TRUE(client.read_until([](const std::string& raw) { return raw_content_chunks(raw) >= 3; },
                                milliseconds(10'000)))
      << client.received;
  const std::int64_t seen = raw_content_chunks(client.received);
  client.close();
  ASSERT_TRUE(eventually([&] { return rig.ledger_settled(); }, milliseconds(10'000)));
  const std::int64_t charged = rig.spent();

  // The same request read to its end: what the upstream generates for it.
  const StreamReply whole = rig.stream(kChat, body);
  ASSERT_TRUE(whole.ends_with_done()) << whole.body;
  const auto record = rig.record(whole);
  ASSERT_TRUE(record && record->used_tokens);
  EXPECT_GT(*record->used_tokens, seen);
  EXPECT_EQ(charged, *record->used_tokens);
  EXPECT_EQ(metric_value(rig.get("/metrics").body, "clearhouse_client_aborts_total"), 1.0);
  EXPECT_TRUE(eventually([&] { return rig.gateway().in_flight() == 0; }, milliseconds(5000)));
}

TEST(GatewayE2EFaults, DrainLetsAStreamInFlightFinishAndWaitIdleSeesIt) {
  // 100 tokens per second, 40 tokens: the stream in flight takes about 0.4 s.
  GatewayRig rig({.configure = {}, .tokens_per_second = 100, .real_time = true});
  auto in_flight = std::async(std::launch::async, [&] {
    return rig.stream(kChat, chat_body(long_answer(), {{"stream", true}, {"max_tokens", 40}}));
  });
  ASSERT_TRUE(eventually([&] { return rig.gateway().in_flight() == 1; }));
  rig.gateway().drain();
  const Reply refused = rig.post(kChat, chat_body(long_answer(), {{"max_tokens", 3}}));
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_TRUE(is_openai_error(refused.body, "shutting_down"));
  EXPECT_TRUE(rig.gateway().wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(rig.gateway().in_flight(), 0);
  EXPECT_EQ(metric_value(rig.get("/metrics").body, "clearhouse_open_reservations"), 0.0);
  const StreamReply s = in_flight.get();
  EXPECT_TRUE(s.ends_with_done());  // the request admitted before the drain was served in full
  EXPECT_EQ(s.content_chunks(), 40);
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), 40);
}

}  // namespace
}  // namespace clearhouse::gateway::testing
