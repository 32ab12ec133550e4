// Helpers of the gateway config tests (gateway_config_test.cpp, gateway_config_fields_test.cpp):
// message matchers, parsing from a string with an injected environment, and two configs (the
// minimal one and one that sets every field).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "gateway/gateway_config.h"

namespace clearhouse::gateway::config_testing {

// Tiny matchers for messages (the suite links GoogleTest without GoogleMock).
struct SubstrMatcher {
  std::string part;
};
struct PrefixMatcher {
  std::string prefix;
};
struct LacksMatcher {
  std::string part;
};
inline SubstrMatcher HasSubstr(std::string part) {
  return {std::move(part)};
}
inline PrefixMatcher StartsWith(std::string prefix) {
  return {std::move(prefix)};
}
inline LacksMatcher Not(SubstrMatcher m) {
  return {std::move(m.part)};
}

inline ::testing::AssertionResult Check(const std::string& text, const SubstrMatcher& m) {
  if (text.find(m.part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" lacks \"" << m.part << "\"";
}
inline ::testing::AssertionResult Check(const std::string& text, const PrefixMatcher& m) {
  if (text.starts_with(m.prefix)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << text << "\" does not start with \"" << m.prefix << "\"";
}
inline ::testing::AssertionResult Check(const std::string& text, const LacksMatcher& m) {
  if (text.find(m.part) == std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" contains \"" << m.part << "\"";
}

inline const std::string kUpstreamSecret = "sk-upstream-secret-0123456789";

inline EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

inline GatewayConfig parse(const std::string& yaml, const EnvLookup& env = env_of({})) {
  return parse_gateway_config(yaml, "gateway.yaml", env);
}

// The ConfigError message parsing `yaml` throws; a test failure if it does not throw.
inline std::string error_of(const std::string& yaml, const EnvLookup& env = env_of({})) {
  try {
    (void)parse(yaml, env);
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for:\n" << yaml;
  return {};
}

// Lines 1-4: the required fields; extra settings go after.
inline const std::string kMinimal =
    "ledger: gw.db\n"
    "budget: {completion_tokens: 1000}\n"
    "upstreams:\n"
    "  - {name: local, base_url: 'http://127.0.0.1:9000', model: m}\n";

inline const std::string kFull = R"(listen: 0.0.0.0:9090
ledger: /var/lib/clearhouse/gateway.db
budget: {completion_tokens: 1000000, window_seconds: 60}
predictor: models/qwen.model
policy: uniform
on_abandon: degrade
degrade_tokens: 32
utility: {alpha: 3.5, beta: 0.01}
pacer: {window_queries: 128, min_tokens: 8, max_tokens: 4096, default_tau: 300, headroom_share: 0.2, price_band_share: 0.1, horizon_seconds: 86400}
auction: {value_usd: 0.02, outside_value_usd: 0.001}
health: {failure_threshold: 5, cooldown_seconds: 2.5}
limits: {max_body_bytes: 65536, header_timeout_seconds: 2.5, idle_timeout_seconds: 1, max_connections: 100, max_json_depth: 32, shutdown_grace_seconds: 0}
upstreams:
  - name: local
    base_url: http://127.0.0.1:9000/
    model: qwen2.5-math-7b
    price_per_mtok: 0.6
    accuracy_curve: [[256, 0.40], [1024, 0.72]]
    timeouts: {connect_seconds: 1, read_seconds: 30, total_seconds: 90}
  - name: remote.v2
    base_url: https://api.example.com/v1
    model: gpt-x
    aliases: [gpt-x-latest, default]
    price_per_mtok: 10
    api_key_env: REMOTE_KEY
keys:
  - {id: team-a, sha256: 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08, budget_tokens: 200000}
  - {id: team-b, sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae}
admin_key: {sha256: fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9}
)";

}  // namespace clearhouse::gateway::config_testing
