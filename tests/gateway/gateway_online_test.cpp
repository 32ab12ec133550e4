// Online vs offline (issue acceptance): a 500-query stream of recorded real answers replayed
// through the gateway and the replay upstream, over real sockets, reaches at least 90% of the
// accuracy offline CLEAR (Lambert) gets on the same queries with the same budget and the same
// predictor, with zero overshoot. A query is solved when the replay served its whole recorded
// answer (finish_reason "stop": the cap covered its length) and that answer was graded correct. The
// figures are printed; docs/gateway.md quotes them.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/clear_allocation.h"
#include "core/utility_model.h"
#include "data/dataset.h"
#include "eval/replay.h"
#include "gateway/gateway.h"
#include "gateway_servers.h"
#include "http/server.h"
#include "predict/threshold_predictor.h"
#include "support/run_binary.h"
#include "tools/replay_upstream.h"

namespace clearhouse::gateway {
namespace {

using nlohmann::json;

constexpr std::size_t kQueries = 500;
constexpr const char* kModel = "Qwen2-7B-Instruct";

struct Query {
  std::string dataset, qid, text;
  std::int64_t true_tokens = 0;
  bool correct = false;
  double tau_hat = 0;
};

struct World {
  std::shared_ptr<const tools::ReplayStore> store;
  std::vector<Query> stream;
  std::optional<predict::ThresholdPredictor> predictor;
};

// 500 random answered questions for the stream; the predictor is trained on every other answer of
// the same model (never on the stream).
const World& world() {
  static const World w = [] {
    World out;
    const std::string dir = std::string(CLEARHOUSE_SOURCE_DIR) + "/data";
    const data::Dataset ds = data::load_zeroeval(dir);
    out.store = std::make_shared<const tools::ReplayStore>(tools::ReplayStore::load(dir));
    std::vector<data::Run> runs;
    for (const data::Run& r : ds.runs_of_model(ds.model_index(kModel))) {
      if (r.output_tokens > 0) runs.push_back(r);
    }
    std::mt19937_64 rng(20261124);
    std::shuffle(runs.begin(), runs.end(), rng);
    std::vector<predict::Example> train;
    for (std::size_t i = kQueries; i < runs.size(); ++i) {
      const data::Question& q = ds.question(runs[i].question);
      train.push_back({q.question, q.dataset, static_cast<double>(runs[i].output_tokens)});
    }
    out.predictor = predict::ThresholdPredictor::fit(train, predict::FitOptions{});
    for (std::size_t i = 0; i < kQueries && i < runs.size(); ++i) {
      const data::Question& q = ds.question(runs[i].question);
      out.stream.push_back({q.dataset, q.qid, q.question, runs[i].output_tokens, runs[i].correct,
                            out.predictor->predict(q.question, q.dataset)});
    }
    return out;
  }();
  return w;
}

double offline_clear_accuracy(const std::vector<Query>& stream, std::int64_t budget) {
  std::vector<double> tau;
  std::vector<eval::ReplayItem> items;
  for (const Query& q : stream) {
    tau.push_back(q.tau_hat);
    eval::ReplayItem item;
    item.tau_hat = q.tau_hat;
    item.true_tokens = static_cast<double>(q.true_tokens);
    item.correct = q.correct;
    items.push_back(item);
  }
  const auto plan = core::allocate_clear(core::build_utilities(tau, core::UtilityModel{}), budget);
  return eval::replay(items, plan.caps).accuracy(stream.size());
}

struct OnlineResult {
  double accuracy = 0;
  std::int64_t spent = 0;
  std::int64_t reserved_after = 0;
  std::size_t served = 0;
};

OnlineResult online_accuracy(const World& w, std::int64_t budget, const std::string& tag) {
  tools::ReplayUpstreamOptions replay_options;
  replay_options.default_model = kModel;
  testing::ReplayServer upstream_server(w.store, replay_options,
                                        std::make_shared<tools::InstantPacingClock>());
  const int upstream_port = upstream_server.port();

  const auto dir = clearhouse::testing::scratch_dir("gateway_online_" + tag);
  // One request per simulated second, at the middle of each second of a 500 s budget window (the
  // window starts at 1.8e12 ms, a multiple of 500 s): the gateway learns nothing about how many
  // requests will come, only the budget per window.
  base::ManualClock clock(1'800'000'000'000 - 500);
  ledger::Ledger ledger = ledger::Ledger::open((dir / "ledger.db").string(), clock);
  GatewayConfig config;
  config.source = "test";
  config.ledger_path = (dir / "ledger.db").string();
  config.budget_tokens = budget;
  config.window_seconds = static_cast<std::int64_t>(w.stream.size());
  UpstreamConfig up;
  up.name = "replay";
  up.base_url = "http://127.0.0.1:" + std::to_string(upstream_port);
  up.model = kModel;
  config.upstreams.push_back(up);
  testing::GatewayServer gateway_server({.host = "127.0.0.1", .port = 0}, config, ledger, clock,
                                        w.predictor);
  const int gateway_port = gateway_server.port();

  httplib::Client client("127.0.0.1", gateway_port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  OnlineResult result;
  std::size_t solved = 0;
  for (const Query& q : w.stream) {
    clock.advance_ms(1000);
    const json body = {{"model", kModel},
                       {"messages", {{{"role", "user"}, {"content", q.text}}}},
                       {"metadata", {{"qid", q.dataset + "/" + q.qid}, {"dataset", q.dataset}}}};
    const auto res = client.Post("/v1/chat/completions", body.dump(), "application/json");
    EXPECT_TRUE(res) << "no response";
    if (!res) continue;
    EXPECT_TRUE(res->status == 200 || res->status == 429) << res->status << " " << res->body;
    if (res->status != 200) continue;
    ++result.served;
    const json reply = json::parse(res->body);
    EXPECT_EQ(res->get_header_value("x-replay-qid"), "");  // upstream headers are not leaked
    if (reply["choices"][0]["finish_reason"] == "stop" && q.correct) ++solved;
  }
  gateway_server.stop();
  upstream_server.stop();
  const ledger::WindowTotals totals = ledger.window_totals();
  result.spent = totals.spent_tokens;
  result.reserved_after = totals.reserved_tokens;
  result.accuracy = static_cast<double>(solved) / static_cast<double>(w.stream.size());
  return result;
}

TEST(GatewayOnline, ReachesNinetyPercentOfOfflineClearWithZeroOvershoot) {
  const World& w = world();
  ASSERT_EQ(w.stream.size(), kQueries);
  for (const std::int64_t per_query : {64, 128, 256}) {
    const std::int64_t budget = per_query * static_cast<std::int64_t>(kQueries);
    const double offline = offline_clear_accuracy(w.stream, budget);
    const OnlineResult online = online_accuracy(w, budget, std::to_string(per_query));
    std::printf(
        "[ online  ] %lld tokens/query: offline CLEAR %.3f, gateway %.3f (ratio %.2f), "
        "served %zu/%zu, spent %lld of %lld\n",
        static_cast<long long>(per_query), offline, online.accuracy,
        offline > 0 ? online.accuracy / offline : 0.0, online.served, kQueries,
        static_cast<long long>(online.spent), static_cast<long long>(budget));
    EXPECT_GT(offline, 0.0);
    EXPECT_GE(online.accuracy, 0.9 * offline) << per_query << " tokens per query";
    EXPECT_LE(online.spent, budget) << "overshoot";
    EXPECT_EQ(online.reserved_after, 0);
  }
}

}  // namespace
}  // namespace clearhouse::gateway
