// The schema of the gateway config: which keys each section has, their types, ranges and defaults
// (documented in docs/gateway-config.md; keep the two in step).
#include "gateway/gateway_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "config/config_values.h"
#include "config/yaml_fields.h"
#include "ledger/ledger.h"
#include "openai/request.h"

namespace clearhouse::gateway {
namespace {

constexpr config::NumberRange kNonNegative{.min = 0.0};
constexpr config::NumberRange kPositive{.min = 0.0, .min_exclusive = true};
constexpr config::NumberRange kSeconds{.min = 0.0, .min_exclusive = true, .max = kMaxConfigSeconds};
constexpr config::NumberRange kShare{.min = 0.0, .max = 1.0};
constexpr config::NumberRange kPositiveShare{.min = 0.0, .min_exclusive = true, .max = 1.0};
constexpr config::IntegerRange kTokens{.min = 1, .max = ledger::kMaxLedgerTokens};
constexpr config::IntegerRange kWindowSeconds{.min = 0, .max = std::int64_t{1} << 40};
constexpr config::IntegerRange kCount{.min = 1, .max = std::int64_t{1} << 40};
constexpr int kMaxJsonDepthLimit = 10000;

std::string read_name(const config::YamlField& field) {
  std::string name = field.string();
  if (!config::is_config_name(name)) {
    field.fail_with_value("must be 1 to 64 characters of A-Z a-z 0-9 . _ -");
  }
  return name;
}

// Hashes are not secrets, but a raw key pasted here by mistake would be: the value is never echoed.
std::string read_sha256(const config::YamlField& field) {
  if (field.is_null() || !field.node().IsScalar()) {
    field.fail_with_kind("must be 64 hex characters: the SHA-256 of the key");
  }
  std::optional<std::string> hex = config::normalize_sha256_hex(field.node().Scalar());
  if (!hex) {
    field.fail(
        "must be 64 hex characters: the SHA-256 of the key, from `clearhouse hash-key` (got " +
        std::to_string(field.node().Scalar().size()) + " characters, not shown)");
  }
  return *hex;
}

// A path relative to the config file's folder.
std::string resolve_path(const config::YamlField& field, const std::string& source) {
  const std::filesystem::path path(field.string());
  if (path.is_absolute()) return path.string();
  return (std::filesystem::path(source).parent_path() / path).lexically_normal().string();
}

std::vector<AccuracyPoint> read_accuracy_curve(const config::YamlField& field) {
  std::vector<AccuracyPoint> points;
  for (const config::YamlField& pair : field.sequence()) {
    const std::vector<config::YamlField> values = pair.sequence();
    if (values.size() != 2) pair.fail("must be a pair [tokens, accuracy]");
    points.push_back({.tokens = values[0].number(kPositive),
                      .accuracy = values[1].number({.min = 0.0, .max = 1.0})});
  }
  if (const std::string problem = AccuracyCurve::validate(points); !problem.empty()) {
    field.fail(problem);
  }
  return points;
}

std::string read_model_name(const config::YamlField& field) {
  std::string name = field.string();
  const bool printable = std::all_of(name.begin(), name.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
  });
  if (!printable || name.size() > kMaxModelNameLength) {
    field.fail_with_value("must be 1 to 256 printable ASCII characters without blanks");
  }
  return name;
}

// The names one upstream answers to besides `model`; a name twice (or equal to `model`) is an
// error.
std::vector<std::string> read_aliases(const config::YamlField& field, const std::string& model) {
  std::vector<std::string> aliases;
  for (const config::YamlField& element : field.sequence()) {
    std::string alias = read_model_name(element);
    if (alias == model) element.fail_with_value("repeats the upstream's model");
    if (std::find(aliases.begin(), aliases.end(), alias) != aliases.end()) {
      element.fail_with_value("is listed twice");
    }
    aliases.push_back(std::move(alias));
  }
  return aliases;
}

// max_tokens_field and thinking_budget: how the upstream's bodies carry their length fields.
void read_length_fields(const config::YamlMapping& map, std::int64_t max_cap,
                        UpstreamConfig& upstream) {
  if (auto v = map.optional("max_tokens_field")) {
    const std::string name = v->string();
    if (name == "max_tokens") {
      upstream.max_tokens_field = openai::MaxTokensField::kMaxTokens;
    } else if (name == "max_completion_tokens") {
      upstream.max_tokens_field = openai::MaxTokensField::kMaxCompletionTokens;
    } else {
      v->fail_with_value("must be one of max_tokens, max_completion_tokens");
    }
  }
  const auto budget_field = map.optional("thinking_budget");
  if (!budget_field) return;
  const config::YamlMapping budget(*budget_field, {"field", "answer_reserve"});
  const config::YamlField name = budget.required("field");
  upstream.thinking_budget_field = name.string();
  if (!config::is_config_name(upstream.thinking_budget_field)) {
    name.fail_with_value("must be a body field name: 1 to 64 characters of A-Z a-z 0-9 . _ -");
  }
  if (openai::is_field_the_gateway_reads(upstream.thinking_budget_field)) {
    name.fail_with_value("names a field the gateway reads or sets itself");
  }
  if (auto reserve = budget.optional("answer_reserve")) {
    upstream.answer_reserve = reserve->integer({.min = 0, .max = ledger::kMaxLedgerTokens});
    if (upstream.answer_reserve >= max_cap) {
      reserve->fail("must be below pacer.max_tokens (" + std::to_string(max_cap) +
                    "), or every thinking budget would be 0");
    }
  }
}

UpstreamConfig read_upstream(const config::YamlField& field, const EnvLookup& env,
                             std::int64_t max_cap) {
  const config::YamlMapping map(
      field, {"name", "base_url", "model", "aliases", "api", "price_per_mtok", "api_key_env",
              "accuracy_curve", "timeouts", "max_tokens_field", "thinking_budget"});
  UpstreamConfig upstream;
  upstream.name = read_name(map.required("name"));
  const config::YamlField base_url = map.required("base_url");
  try {
    (void)config::parse_base_url(base_url.string());
  } catch (const std::invalid_argument& e) {
    base_url.fail(e.what());  // not echoed: the URL may hold credentials
  }
  upstream.base_url = normalize_base_url(base_url.string());
  upstream.model = read_model_name(map.required("model"));
  if (auto aliases = map.optional("aliases")) {
    upstream.aliases = read_aliases(*aliases, upstream.model);
  }
  if (auto api = map.optional("api")) {
    const std::string value = api->string();
    if (value == "responses") {
      upstream.api = UpstreamApi::kResponses;
    } else if (value != "chat") {
      api->fail_with_value("must be chat or responses");
    }
  }
  if (auto price = map.optional("price_per_mtok"))
    upstream.price_per_mtok = price->number(kNonNegative);
  if (auto key_env = map.optional("api_key_env")) {
    upstream.api_key_env = key_env->string();
    if (!config::is_env_var_name(upstream.api_key_env)) {
      key_env->fail_with_value("must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
    }
    const std::optional<std::string> key = env(upstream.api_key_env);
    if (!key) key_env->fail("environment variable " + upstream.api_key_env + " is not set");
    if (key->empty()) key_env->fail("environment variable " + upstream.api_key_env + " is empty");
    // Sent in an Authorization header: a control character would end the header early.
    if (std::any_of(key->begin(), key->end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      key_env->fail("environment variable " + upstream.api_key_env +
                    " holds a control character (a line break?): not a usable API key");
    }
    upstream.api_key = *key;
  }
  if (auto curve = map.optional("accuracy_curve"))
    upstream.accuracy_curve = read_accuracy_curve(*curve);
  if (auto timeouts_field = map.optional("timeouts")) {
    const config::YamlMapping timeouts(*timeouts_field,
                                       {"connect_seconds", "read_seconds", "total_seconds"});
    if (auto v = timeouts.optional("connect_seconds"))
      upstream.connect_timeout_seconds = v->number(kSeconds);
    if (auto v = timeouts.optional("read_seconds"))
      upstream.read_timeout_seconds = v->number(kSeconds);
    if (auto v = timeouts.optional("total_seconds"))
      upstream.total_timeout_seconds = v->number(kSeconds);
  }
  read_length_fields(map, max_cap, upstream);
  return upstream;
}

std::vector<UpstreamConfig> read_upstreams(const config::YamlField& field, const EnvLookup& env,
                                           std::int64_t max_cap) {
  const std::vector<config::YamlField> elements = field.sequence();
  if (elements.empty()) field.fail("needs at least one upstream");
  std::vector<UpstreamConfig> upstreams;
  std::map<std::string, std::pair<std::string, int>> seen;  // name -> (path, line)
  for (const config::YamlField& element : elements) {
    UpstreamConfig upstream = read_upstream(element, env, max_cap);
    const auto [it, inserted] =
        seen.emplace(upstream.name, std::pair(element.path(), element.line()));
    if (!inserted) {
      element.fail("duplicate upstream name \"" + upstream.name + "\" (also " + it->second.first +
                   ", line " + std::to_string(it->second.second) + ")");
    }
    upstreams.push_back(std::move(upstream));
  }
  return upstreams;
}

std::vector<ClientKeyConfig> read_keys(const config::YamlField& field) {
  std::vector<ClientKeyConfig> keys;
  std::map<std::string, std::pair<std::string, int>> ids;     // id -> (path, line)
  std::map<std::string, std::pair<std::string, int>> hashes;  // hash -> (path, line)
  for (const config::YamlField& element : field.sequence()) {
    const config::YamlMapping map(element, {"id", "sha256", "budget_tokens"});
    ClientKeyConfig key;
    key.id = read_name(map.required("id"));
    const config::YamlField sha256 = map.required("sha256");
    key.sha256 = read_sha256(sha256);
    if (auto budget = map.optional("budget_tokens")) {
      key.budget_tokens = budget->integer({.min = 0, .max = ledger::kMaxLedgerTokens});
    }
    if (const auto [it, inserted] = ids.emplace(key.id, std::pair(element.path(), element.line()));
        !inserted) {
      element.fail("duplicate key id \"" + key.id + "\" (also " + it->second.first + ", line " +
                   std::to_string(it->second.second) + ")");
    }
    if (const auto [it, inserted] =
            hashes.emplace(key.sha256, std::pair(element.path(), sha256.line()));
        !inserted) {
      sha256.fail("the same hash as " + it->second.first + " (line " +
                  std::to_string(it->second.second) + "): one secret cannot be two keys");
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

void read_pacer(const config::YamlField& field, PacerConfig& pacer) {
  const config::YamlMapping map(
      field, {"window_queries", "expected_requests_per_window", "min_tokens", "max_tokens",
              "default_tau", "headroom_share", "price_band_share", "horizon_seconds"});
  if (auto v = map.optional("expected_requests_per_window")) {
    v->fail(
        "was removed: the pacer no longer forecasts arrivals (a forecast drawn from a few close "
        "requests refused almost everything while the budget sat unspent); it follows the "
        "budget's plan line (docs/gateway-pacing.md). Delete this line; for an all-time budget "
        "(window_seconds: 0) set pacer.horizon_seconds instead");
  }
  if (auto v = map.optional("window_queries")) {
    pacer.window_queries = static_cast<std::size_t>(v->integer(kCount));
  }
  if (auto v = map.optional("min_tokens")) pacer.min_tokens = v->integer(kTokens);
  if (auto v = map.optional("max_tokens")) pacer.max_tokens = v->integer(kTokens);
  if (pacer.max_tokens < pacer.min_tokens) {
    const config::YamlField at = map.optional("max_tokens").value_or(map.field());
    at.fail("pacer.max_tokens (" + std::to_string(pacer.max_tokens) +
            ") must be >= pacer.min_tokens (" + std::to_string(pacer.min_tokens) + ")");
  }
  if (auto v = map.optional("default_tau")) pacer.default_tau = v->number(kPositive);
  if (auto v = map.optional("headroom_share")) pacer.headroom_share = v->number(kShare);
  if (auto v = map.optional("price_band_share")) pacer.price_band_share = v->number(kPositiveShare);
  if (auto v = map.optional("horizon_seconds")) pacer.horizon_seconds = v->integer(kWindowSeconds);
}

// Body fields removed from every request sent upstream, besides openai::kVendorLengthFields.
std::vector<std::string> read_extra_length_fields(const config::YamlField& field) {
  std::vector<std::string> names;
  for (const config::YamlField& element : field.sequence()) {
    std::string name = element.string();
    if (!config::is_config_name(name)) {
      element.fail_with_value("must be a body field name: 1 to 64 characters of A-Z a-z 0-9 . _ -");
    }
    if (openai::is_field_the_gateway_reads(name)) {
      element.fail_with_value(
          "names a field the gateway reads or sets itself; it cannot be removed");
    }
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      element.fail_with_value("is listed twice");
    }
    names.push_back(std::move(name));
  }
  return names;
}

void read_limits(const config::YamlField& field, LimitsConfig& limits) {
  const config::YamlMapping map(
      field, {"max_body_bytes", "header_timeout_seconds", "body_timeout_seconds",
              "idle_timeout_seconds", "max_connections", "max_connections_per_client",
              "max_header_bytes", "max_header_count", "max_url_bytes", "event_loops",
              "max_json_depth", "shutdown_grace_seconds", "extra_length_fields"});
  if (auto v = map.optional("max_body_bytes"))
    limits.max_body_bytes = static_cast<std::size_t>(v->integer(kCount));
  if (auto v = map.optional("header_timeout_seconds"))
    limits.header_timeout_seconds = v->number(kSeconds);
  if (auto v = map.optional("body_timeout_seconds"))
    limits.body_timeout_seconds = v->number(kSeconds);
  if (auto v = map.optional("idle_timeout_seconds"))
    limits.idle_timeout_seconds = v->number(kSeconds);
  if (auto v = map.optional("max_connections_per_client")) {
    limits.max_connections_per_client =
        static_cast<std::size_t>(v->integer({.min = 0, .max = 1'000'000}));
  }
  if (auto v = map.optional("max_header_bytes")) {
    limits.max_header_bytes = static_cast<std::size_t>(v->integer({.min = 256, .max = 1 << 20}));
  }
  if (auto v = map.optional("max_header_count")) {
    limits.max_header_count = static_cast<std::size_t>(v->integer({.min = 8, .max = 10'000}));
  }
  if (auto v = map.optional("event_loops")) {
    limits.event_loops = static_cast<std::size_t>(v->integer({.min = 0, .max = 256}));
  }
  if (auto v = map.optional("max_url_bytes")) {
    limits.max_url_bytes = static_cast<std::size_t>(v->integer({.min = 64, .max = 1 << 20}));
  }
  if (auto v = map.optional("max_connections")) {
    limits.max_connections = static_cast<std::size_t>(v->integer({.min = 1, .max = 1'000'000}));
  }
  if (auto v = map.optional("max_json_depth")) {
    limits.max_json_depth = static_cast<int>(v->integer({.min = 1, .max = kMaxJsonDepthLimit}));
  }
  if (auto v = map.optional("shutdown_grace_seconds")) {
    limits.shutdown_grace_seconds = v->number({.min = 0.0, .max = kMaxConfigSeconds});
  }
  if (auto v = map.optional("extra_length_fields")) {
    limits.extra_length_fields = read_extra_length_fields(*v);
  }
}

void read_sections(const config::YamlMapping& root, const std::string& source, const EnvLookup& env,
                   GatewayConfig& config) {
  if (auto listen = root.optional("listen")) {
    try {
      config::HostPort where = config::parse_host_port(listen->string());
      config.listen_host = std::move(where.host);
      config.listen_port = where.port;
    } catch (const std::invalid_argument& e) {
      listen->fail_with_value(std::string("must be host:port: ") + e.what());
    }
  }
  config.ledger_path = resolve_path(root.required("ledger"), source);

  const config::YamlMapping budget(root.required("budget"),
                                   {"completion_tokens", "window_seconds"});
  config.budget_tokens = budget.required("completion_tokens").integer(kTokens);
  if (auto v = budget.optional("window_seconds"))
    config.window_seconds = v->integer(kWindowSeconds);

  if (auto v = root.optional("predictor")) config.predictor_path = resolve_path(*v, source);
  if (auto v = root.optional("policy")) {
    const std::optional<PacingPolicy> policy = parse_pacing_policy(v->string());
    if (!policy) v->fail_with_value("must be one of clear, uniform, predictor");
    config.policy = *policy;
  }
  if (auto v = root.optional("on_abandon")) {
    const std::optional<AbandonAction> action = parse_abandon_action(v->string());
    if (!action) v->fail_with_value("must be one of reject, degrade");
    config.on_abandon = *action;
  }
  if (auto v = root.optional("utility")) {
    const config::YamlMapping utility(*v, {"alpha", "beta"});
    if (auto a = utility.optional("alpha")) config.utility.alpha = a->number(kPositive);
    if (auto b = utility.optional("beta")) config.utility.beta = b->number(kNonNegative);
  }
  if (auto v = root.optional("pacer")) read_pacer(*v, config.pacer);
  if (auto v = root.optional("degrade_tokens")) {
    config.degrade_tokens = v->integer(kTokens);
    if (config.degrade_tokens > config.pacer.max_tokens) {
      v->fail("must be <= pacer.max_tokens (" + std::to_string(config.pacer.max_tokens) + ")");
    }
  } else {
    // The default must not exceed a small max_tokens the file did set.
    config.degrade_tokens = std::min(config.degrade_tokens, config.pacer.max_tokens);
  }
  if (auto v = root.optional("auction")) {
    const config::YamlMapping auction(*v, {"value_usd", "outside_value_usd"});
    if (auto a = auction.optional("value_usd")) config.auction.value_usd = a->number(kNonNegative);
    if (auto a = auction.optional("outside_value_usd")) {
      config.auction.outside_value_usd = a->number(kNonNegative);
    }
  }
  if (auto v = root.optional("health")) {
    const config::YamlMapping health(*v, {"failure_threshold", "cooldown_seconds"});
    if (auto h = health.optional("failure_threshold")) {
      config.health.failure_threshold = static_cast<int>(h->integer({.min = 1, .max = 1'000'000}));
    }
    if (auto h = health.optional("cooldown_seconds")) {
      config.health.cooldown_seconds = h->number(kSeconds);
    }
  }
  if (auto v = root.optional("limits")) read_limits(*v, config.limits);

  config.upstreams = read_upstreams(root.required("upstreams"), env, config.pacer.max_tokens);
  if (auto v = root.optional("keys")) config.keys = read_keys(*v);
  if (auto v = root.optional("admin_key")) {
    const config::YamlMapping admin(*v, {"sha256"});
    const config::YamlField sha256 = admin.required("sha256");
    config.admin_key_sha256 = read_sha256(sha256);
    for (std::size_t i = 0; i < config.keys.size(); ++i) {
      if (config.keys[i].sha256 == config.admin_key_sha256) {
        sha256.fail("the same hash as keys[" + std::to_string(i) +
                    "]: the admin key must differ from every client key");
      }
    }
  }
}

}  // namespace

const UpstreamConfig* GatewayConfig::find_upstream(std::string_view name) const {
  for (const UpstreamConfig& upstream : upstreams) {
    if (upstream.name == name) return &upstream;
  }
  return nullptr;
}

std::string normalize_base_url(std::string_view base_url) {
  std::string url(base_url);
  while (!url.empty() && url.back() == '/') url.pop_back();
  // Only the path's last segment: "http://v1" is a host, not a prefix.
  const std::size_t scheme_end = url.find("://");
  const std::size_t path_start =
      url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  if (path_start != std::string::npos && url.ends_with("/v1")) {
    url.resize(url.size() - 3);
    while (!url.empty() && url.back() == '/' && url.size() > path_start) url.pop_back();
  }
  return url;
}

EnvLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value =
        std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): read at startup
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

GatewayConfig parse_gateway_config(std::string_view yaml_text, const std::string& source,
                                   const EnvLookup& env) {
  YAML::Node document;
  try {
    document = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    // yaml-cpp's own message without its "yaml-cpp: error at line..." prefix, which we restate.
    const std::string where = e.mark.is_null() ? ""
                                               : ":" + std::to_string(e.mark.line + 1) + ":" +
                                                     std::to_string(e.mark.column + 1);
    throw config::ConfigError(source + where + ": YAML syntax error: " + e.msg);
  }
  if (!document.IsDefined() || document.IsNull()) {
    throw config::ConfigError(source +
                              ":1: the file is empty (it needs at least ledger, budget and "
                              "upstreams; see examples/gateway.yaml)");
  }
  const config::YamlField root_field(document, "", &source);
  const config::YamlMapping root(
      root_field,
      {"listen", "ledger", "budget", "predictor", "policy", "on_abandon", "degrade_tokens",
       "utility", "pacer", "auction", "health", "limits", "upstreams", "keys", "admin_key"});
  GatewayConfig config;
  config.source = source;
  read_sections(root, source, env, config);
  return config;
}

GatewayConfig load_gateway_config(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw config::ConfigError(path.string() + ": is a directory, not a config file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw config::ConfigError(path.string() +
                              ": cannot open the config file (missing or unreadable)");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw config::ConfigError(path.string() + ": cannot read the config file");
  return parse_gateway_config(text.str(), path.string(), process_environment());
}

std::string_view to_string(UpstreamApi api) {
  return api == UpstreamApi::kResponses ? "responses" : "chat";
}

namespace {
std::string max_tokens_field_name(openai::MaxTokensField f) {
  switch (f) {
    case openai::MaxTokensField::kMaxTokens: return "max_tokens";
    case openai::MaxTokensField::kMaxCompletionTokens: return "max_completion_tokens";
    case openai::MaxTokensField::kAsClientSent: break;
  }
  return "as_client_sent";
}
}  // namespace

nlohmann::json describe_config(const GatewayConfig& config) {
  using nlohmann::json;
  json upstreams = json::array();
  for (const UpstreamConfig& u : config.upstreams) {
    json curve = json::array();
    for (const AccuracyPoint& p : u.accuracy_curve) curve.push_back({p.tokens, p.accuracy});
    upstreams.push_back({{"name", u.name},
                         {"base_url", u.base_url},
                         {"model", u.model},
                         {"aliases", u.aliases},
                         {"api", to_string(u.api)},
                         {"price_per_mtok", u.price_per_mtok},
                         {"api_key_env", u.api_key_env},
                         {"api_key_set", !u.api_key.empty()},
                         {"accuracy_curve", std::move(curve)},
                         {"timeouts",
                          {{"connect_seconds", u.connect_timeout_seconds},
                           {"read_seconds", u.read_timeout_seconds},
                           {"total_seconds", u.total_timeout_seconds}}},
                         {"max_tokens_field", max_tokens_field_name(u.max_tokens_field)},
                         {"thinking_budget", u.thinking_budget_field.empty()
                                                 ? json(nullptr)
                                                 : json{{"field", u.thinking_budget_field},
                                                        {"answer_reserve", u.answer_reserve}}}});
  }
  json keys = json::array();
  for (const ClientKeyConfig& k : config.keys) {
    keys.push_back({{"id", k.id},
                    {"budget_tokens", k.budget_tokens ? json(*k.budget_tokens) : json(nullptr)}});
  }
  const LimitsConfig& l = config.limits;
  const PacerConfig& p = config.pacer;
  return {
      {"source", config.source},
      {"listen", {{"host", config.listen_host}, {"port", config.listen_port}}},
      {"ledger", config.ledger_path},
      {"budget",
       {{"completion_tokens", config.budget_tokens}, {"window_seconds", config.window_seconds}}},
      {"predictor", config.predictor_path},
      {"policy", std::string(to_string(config.policy))},
      {"on_abandon", std::string(to_string(config.on_abandon))},
      {"degrade_tokens", config.degrade_tokens},
      {"utility", {{"alpha", config.utility.alpha}, {"beta", config.utility.beta}}},
      {"pacer",
       {{"window_queries", p.window_queries},
        {"headroom_share", p.headroom_share},
        {"price_band_share", p.price_band_share},
        {"horizon_seconds", p.horizon_seconds},
        {"min_tokens", p.min_tokens},
        {"max_tokens", p.max_tokens},
        {"default_tau", p.default_tau}}},
      {"auction",
       {{"value_usd", config.auction.value_usd},
        {"outside_value_usd", config.auction.outside_value_usd}}},
      {"health",
       {{"failure_threshold", config.health.failure_threshold},
        {"cooldown_seconds", config.health.cooldown_seconds}}},
      {"limits",
       {{"max_body_bytes", l.max_body_bytes},
        {"header_timeout_seconds", l.header_timeout_seconds},
        {"idle_timeout_seconds", l.idle_timeout_seconds},
        {"max_connections", l.max_connections},
        {"max_json_depth", l.max_json_depth},
        {"shutdown_grace_seconds", l.shutdown_grace_seconds},
        {"extra_length_fields", l.extra_length_fields}}},
      {"upstreams", std::move(upstreams)},
      {"keys", std::move(keys)},
      {"admin_enabled", !config.admin_key_sha256.empty()},
  };
}

}  // namespace clearhouse::gateway
