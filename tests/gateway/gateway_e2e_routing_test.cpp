// End to end, in one process over real sockets (gateway_test_util.h): routing by model. The
// request's `model` picks the upstreams that serve it (their `model` or an alias), the upstream is
// sent its own model name, an unknown model is a 404 model_not_found answered by nobody, a missing
// one a 400, /v1/models lists models and aliases, and a base_url written with /v1 works.
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "gateway_test_util.h"

namespace clearhouse::gateway::testing {
namespace {

constexpr const char* kChat = "/v1/chat/completions";
constexpr const char* kOtherModel = "other-model";

// A replay upstream that records the path and body of every request it receives.
class RecordingUpstream {
 public:
  struct Seen {
    std::string path;
    json body;
  };

  RecordingUpstream()
      : replay_(shared_store(), {}, std::make_shared<tools::InstantPacingClock>()),
        server_(http::HttpServerOptions{}, [this](const http::HttpRequest& r) {
          {
            const std::lock_guard lock(mutex_);
            seen_.push_back({r.path, json::parse(r.body, nullptr, false)});
          }
          return replay_.handle(r);
        }) {
    port_ = server_.bind();
    server_.start();
  }
  ~RecordingUpstream() {
    replay_.shutdown();
    server_.stop();
  }
  RecordingUpstream(const RecordingUpstream&) = delete;
  RecordingUpstream& operator=(const RecordingUpstream&) = delete;

  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] std::vector<Seen> seen() const {
    const std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  tools::ReplayUpstream replay_;
  mutable std::mutex mutex_;
  std::vector<Seen> seen_;
  http::HttpServer server_;  // last: stopped before the rest goes
  int port_ = 0;
};

// Two upstreams on the recording server: "replay" serves kModel (alias "qwen2"), "other" serves
// kOtherModel and is far cheaper, so price alone would send everything to it.
RigOptions two_models(const RecordingUpstream& upstream) {
  return {.configure = [&upstream](GatewayConfig& c) {
    c.upstreams[0].base_url = upstream.url();
    c.upstreams[0].aliases = {"qwen2"};
    UpstreamConfig other = c.upstreams[0];
    other.name = "other";
    other.model = kOtherModel;
    other.aliases = {};
    other.price_per_mtok = 0.01;
    c.upstreams.push_back(other);
  }};
}

json with_model(json body, const json& model) {
  body["model"] = model;
  return body;
}

TEST(GatewayE2ERouting, EachModelGoesToTheUpstreamThatServesIt) {
  RecordingUpstream upstream;
  GatewayRig rig(two_models(upstream));
  const json body = chat_body(long_answer(), {{"max_tokens", 5}});
  const Reply qwen = rig.post(kChat, body);
  ASSERT_EQ(qwen.status, 200) << qwen.body;
  EXPECT_EQ(qwen.header("x-clearhouse-upstream"), kUpstreamName);  // not the cheaper "other"
  const Reply other = rig.post(kChat, with_model(body, kOtherModel));
  ASSERT_EQ(other.status, 200) << other.body;
  EXPECT_EQ(other.header("x-clearhouse-upstream"), "other");
  const std::vector<RecordingUpstream::Seen> seen = upstream.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].body["model"], kModel);
  EXPECT_EQ(seen[1].body["model"], kOtherModel);
  EXPECT_EQ(rig.record(qwen)->upstream, kUpstreamName);
  EXPECT_EQ(rig.record(other)->upstream, "other");
  EXPECT_TRUE(rig.ledger_settled());
}

TEST(GatewayE2ERouting, AnAliasIsSentUpstreamAsTheModelItStandsFor) {
  RecordingUpstream upstream;
  GatewayRig rig(two_models(upstream));
  const Reply r =
      rig.post(kChat, with_model(chat_body(long_answer(), {{"max_tokens", 5}}), "qwen2"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-clearhouse-upstream"), kUpstreamName);
  const StreamReply s = rig.stream(
      kChat, with_model(chat_body(long_answer(), {{"max_tokens", 5}, {"stream", true}}), "qwen2"));
  EXPECT_TRUE(s.ends_with_done()) << s.body;
  const std::vector<RecordingUpstream::Seen> seen = upstream.seen();
  ASSERT_EQ(seen.size(), 2u);
  for (const RecordingUpstream::Seen& one : seen) EXPECT_EQ(one.body["model"], kModel);
  EXPECT_TRUE(rig.ledger_settled());
}

// The bug: asking for gpt-4o returned another model's answer with a 200.
TEST(GatewayE2ERouting, AnUnknownModelIs404ModelNotFoundAndReachesNoUpstream) {
  RecordingUpstream upstream;
  GatewayRig rig(two_models(upstream));
  const json body = with_model(chat_body(long_answer(), {{"max_tokens", 5}}), "gpt-4o");
  for (const json& request : {body, with_model(body, "Qwen2-7B-instruct")}) {
    const Reply r = rig.post(kChat, request);
    ASSERT_EQ(r.status, 404) << r.body;
    EXPECT_TRUE(is_openai_error(r.body, "model_not_found"));
    const json error = r.json_body()["error"];
    EXPECT_EQ(error["param"], "model");
    EXPECT_EQ(error["type"], "invalid_request_error");
    EXPECT_NE(error["message"].get<std::string>().find(request["model"].get<std::string>()),
              std::string::npos)
        << r.body;
  }
  // A long name is echoed cut short, and still as valid UTF-8 (cut between code points).
  std::string long_name = "x";  // then 2-byte characters: byte 100 is inside one
  for (int i = 0; i < 150; ++i) long_name += "\u00e9";
  const Reply long_model = rig.post(kChat, with_model(body, long_name));
  ASSERT_EQ(long_model.status, 404) << long_model.body;
  EXPECT_TRUE(is_openai_error(long_model.body, "model_not_found"));
  // Streamed or not, on either endpoint.
  json stream_body = body;
  stream_body["stream"] = true;
  const StreamReply s = rig.stream(kChat, stream_body);
  EXPECT_EQ(s.status, 404);
  const Reply completion = rig.post(
      "/v1/completions", with_model(completion_body(long_answer(), {{"max_tokens", 5}}), "gpt-4o"));
  EXPECT_EQ(completion.status, 404);
  EXPECT_TRUE(upstream.seen().empty());
  EXPECT_EQ(rig.requests_recorded(), 0);                            // nothing reserved
  EXPECT_EQ(rig.gateway().admin_state()["pacer"]["decisions"], 0);  // the pacer never asked
}

// OpenAI requires `model`; the gateway is strict about it rather than guessing one.
TEST(GatewayE2ERouting, AMissingModelIs400NamingTheParameter) {
  GatewayRig rig;
  json body = chat_body(long_answer(), {{"max_tokens", 5}});
  body.erase("model");
  for (const json& request : {body, with_model(body, "")}) {
    const Reply r = rig.post(kChat, request);
    ASSERT_EQ(r.status, 400) << r.body;
    EXPECT_TRUE(is_openai_error(r.body, "missing_required_parameter"));
    EXPECT_EQ(r.json_body()["error"]["param"], "model");
  }
  const Reply not_a_string = rig.post(kChat, with_model(body, 7));
  ASSERT_EQ(not_a_string.status, 400);
  EXPECT_EQ(not_a_string.json_body()["error"]["param"], "model");
  EXPECT_EQ(rig.requests_recorded(), 0);
}

TEST(GatewayE2ERouting, ModelsListsEveryModelAndAlias) {
  RecordingUpstream upstream;
  GatewayRig rig(two_models(upstream));
  const Reply r = rig.get("/v1/models");
  ASSERT_EQ(r.status, 200) << r.body;
  std::map<std::string, json> by_id;
  const json list = r.json_body();
  for (const json& m : list["data"]) by_id[m["id"].get<std::string>()] = m;
  ASSERT_EQ(by_id.size(), 3u) << r.body;
  EXPECT_EQ(by_id[kModel]["object"], "model");
  EXPECT_EQ(by_id[kModel]["owned_by"], kUpstreamName);
  EXPECT_EQ(by_id[kModel]["upstreams"], json({kUpstreamName}));
  EXPECT_EQ(by_id["qwen2"]["upstreams"], json({kUpstreamName}));
  EXPECT_EQ(by_id[kOtherModel]["upstreams"], json({"other"}));
}

TEST(GatewayE2ERouting, ANameServedBySeveralUpstreamsGoesToTheAuction) {
  RecordingUpstream upstream;
  GatewayRig rig({.configure = [&upstream](GatewayConfig& c) {
    c.upstreams[0].base_url = upstream.url();
    UpstreamConfig cheaper = c.upstreams[0];
    cheaper.name = "cheaper";
    cheaper.model = kOtherModel;
    cheaper.aliases = {kModel};
    cheaper.price_per_mtok = 0.01;
    c.upstreams.push_back(cheaper);
  }});
  const Reply r = rig.post(kChat, chat_body(long_answer(), {{"max_tokens", 5}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-clearhouse-upstream"), "cheaper");
  ASSERT_EQ(upstream.seen().size(), 1u);
  EXPECT_EQ(upstream.seen()[0].body["model"], kOtherModel);  // its own name for the model
  const json models = rig.get("/v1/models").json_body();
  int listed = 0;
  for (const json& m : models["data"]) {
    if (m["id"] == kModel) {
      ++listed;
      EXPECT_EQ(m["owned_by"], "clearhouse");
      EXPECT_EQ(m["upstreams"], json({kUpstreamName, "cheaper"}));
    }
  }
  EXPECT_EQ(listed, 1) << models.dump();
}

// A base_url written as OpenAI clients write it (ending in /v1/) reaches /v1/chat/completions, not
// /v1/v1/chat/completions (which the upstream answers with 404).
TEST(GatewayE2ERouting, ABaseUrlEndingInV1Works) {
  RecordingUpstream upstream;
  GatewayRig rig({.configure = [&upstream](GatewayConfig& c) {
    const GatewayConfig parsed = parse_gateway_config(
        "ledger: x.db\nbudget: {completion_tokens: 1000}\nupstreams:\n  - {name: replay, "
        "base_url: '" +
            upstream.url() + "/v1/', model: " + kModel + "}\n",
        "routing_test.yaml", [](const std::string&) { return std::nullopt; });
    c.upstreams[0].base_url = parsed.upstreams[0].base_url;
  }});
  const Reply r = rig.post(kChat, chat_body(long_answer(), {{"max_tokens", 5}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const StreamReply s = rig.stream(
      "/v1/completions", completion_body(long_answer(), {{"max_tokens", 5}, {"stream", true}}));
  EXPECT_TRUE(s.ends_with_done()) << s.body;
  const std::vector<RecordingUpstream::Seen> seen = upstream.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].path, "/v1/chat/completions");
  EXPECT_EQ(seen[1].path, "/v1/completions");
  EXPECT_TRUE(rig.ledger_settled());
}

}  // namespace
}  // namespace clearhouse::gateway::testing
