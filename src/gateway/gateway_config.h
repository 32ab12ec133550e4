// GatewayConfig: everything `clearhouse serve --config FILE` needs, read from one YAML file
// (reference: docs/gateway-config.md; a complete example: examples/gateway.yaml).
//
// Contract: parse_gateway_config either returns a config in which every field is in range (so the
// gateway asserts rather than re-checks), or throws ConfigError with one line of the form
//   FILE:LINE: dotted.field.path: what is wrong (got "value")
// Unknown keys, missing required fields, wrong types, out-of-range numbers, duplicates and unset
// environment variables are all errors: a typo in a budget must not silently become a default.
//
// Secrets: upstream API keys are read from environment variables named in the file (api_key_env)
// and kept only in UpstreamConfig::api_key; client and admin keys are stored as SHA-256 hashes
// (make one with `clearhouse hash-key`). No error message and nothing describe_config returns
// contains an API key, a key hash, or the value of a field that looks like a mistyped secret.
//
// Units: tokens are completion (output) tokens; prices are USD (per million tokens for upstreams);
// times are seconds (double, except budget.window_seconds, a whole number); sizes are bytes.
// Relative paths in the file (ledger, predictor) are resolved against the config file's folder.
//
// Thread-safety: the functions are pure apart from load_gateway_config's file read and getenv; a
// GatewayConfig is a plain value.
//
// Example:
//   GatewayConfig config = load_gateway_config("gateway.yaml");   // throws ConfigError
//   HttpServer server({.host = config.listen_host, .port = config.listen_port}, handler);
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"
#include "gateway/accuracy_curve.h"
#include "gateway/pacing_policy.h"
#include "openai/request.h"

namespace clearhouse::gateway {

// Upper bound of every timeout and grace period, in seconds (one day): larger values are typos, and
// keeping them bounded keeps conversions to std::chrono durations far from overflow.
inline constexpr double kMaxConfigSeconds = 86400.0;

// The longest model name or alias (printable ASCII without blanks, like every model id we know:
// "gpt-4o-2024-08-06", "Qwen/Qwen2-7B-Instruct", "qwen2:7b").
inline constexpr std::size_t kMaxModelNameLength = 256;

// The API an upstream serves, for the gateway's POST /v1/responses: kChat (chat completions only:
// the gateway translates Responses requests to chat and the answers back,
// openai/responses_translate.h) or kResponses (POST /v1/responses itself: passed through). Chat
// and completions requests are forwarded as they are whatever the value.
enum class UpstreamApi { kChat, kResponses };

[[nodiscard]] std::string_view to_string(UpstreamApi api);

struct UpstreamConfig {
  std::string name;  // unique, [A-Za-z0-9._-]{1,64}
  // http://host:port[/prefix] (https allowed in the string; the gateway reports it as unsupported
  // if no TLS), normalised by normalize_base_url: no trailing '/' and no trailing "/v1".
  std::string base_url;
  std::string model;  // model name sent upstream (required); requests naming it are routed here
  // More names requests may use for this upstream's model (routed here, sent upstream as `model`).
  std::vector<std::string> aliases;
  UpstreamApi api = UpstreamApi::kChat;  // `api: chat | responses`
  double price_per_mtok = 0.0;           // USD per million completion tokens, >= 0
  std::string api_key_env;               // env var holding the upstream API key; "" = none
  std::string api_key;  // resolved from the environment at load; NEVER printed/logged
  std::vector<AccuracyPoint> accuracy_curve;  // optional (accuracy_curve.h), validated
  double connect_timeout_seconds = 5.0;
  double read_timeout_seconds = 120.0;   // longest wait for the next bytes from the upstream
  double total_timeout_seconds = 600.0;  // longest whole upstream call
  // The cap field this upstream honours on chat completions (/v1/completions always gets
  // max_tokens): max_tokens_field in the file; unset = each cap field the client sent.
  openai::MaxTokensField max_tokens_field = openai::MaxTokensField::kAsClientSent;
  // thinking_budget.field: a body field capping the reasoning tokens ("" = none declared); the
  // upstream gets cap - answer_reserve in it (openai::thinking_budget), answer_reserve < the
  // pacer's max_tokens.
  std::string thinking_budget_field;
  std::int64_t answer_reserve = openai::kDefaultAnswerReserve;

  // How this upstream's bodies carry their length fields (openai::upstream_body).
  [[nodiscard]] openai::UpstreamLengths lengths(std::span<const std::string> extra) const {
    return {.extra_length_fields = extra,
            .max_tokens_field = max_tokens_field,
            .thinking_budget_field = thinking_budget_field,
            .answer_reserve = answer_reserve};
  }
};

struct ClientKeyConfig {
  std::string id;      // unique; used in the ledger as key_id; [A-Za-z0-9._-]{1,64}
  std::string sha256;  // 64 lowercase hex chars: SHA-256 of the secret key
  std::optional<std::int64_t> budget_tokens;  // per budget window; nullopt = only the global budget
};

// The surge utility every request is priced with (core/surge_utility.h): alpha > 0 is the utility
// per token just past the threshold; beta >= 0 the decay per token (0 = 1 / median predicted tau).
struct UtilityConfig {
  double alpha = 2.0;
  double beta = 0.0;
};

struct PacerConfig {
  std::size_t window_queries = 512;  // recent queries the shadow price is solved on, >= 1
  std::int64_t min_tokens = 1;       // smallest cap worth sending, >= 1
  std::int64_t max_tokens = 32768;   // largest cap the gateway sends, >= min_tokens
  double default_tau = 256.0;   // predicted threshold (tokens) when no predictor is configured, > 0
  double headroom_share = 0.1;  // share of the budget that may be spent ahead of the plan line
  double price_band_share = 0.05;    // gap above the allowance line (share of budget) at which the
                                     // shadow price reaches alpha, in (0, 1]
  std::int64_t horizon_seconds = 0;  // all-time budget only: spread it over this (0 = no plan line)
};

// The auction between upstreams: an upstream's bid for a request is
// value_usd * accuracy(cap) - price(cap); outside_value_usd is what not answering is worth.
struct AuctionConfig {
  double value_usd = 0.01;         // value of a right answer, >= 0
  double outside_value_usd = 0.0;  // >= 0
};

// The circuit breaker of every upstream (upstream_health.h): failure_threshold consecutive failed
// calls (no response head: refused, timed out, closed) open it; after cooldown_seconds one probe
// request is let through.
struct HealthConfig {
  int failure_threshold = 3;       // >= 1
  double cooldown_seconds = 10.0;  // > 0
};

// The front door's limits (http/server.h enforces them; docs/gateway.md lists the answers).
struct LimitsConfig {
  std::size_t max_body_bytes = 1u << 20;  // larger bodies get 413, whatever the transfer encoding
  double header_timeout_seconds = 10.0;   // the whole header section of a request
  double body_timeout_seconds = 30.0;     // the whole body of a request
  double idle_timeout_seconds = 5.0;      // keep-alive idle
  std::size_t max_connections = 10'000;   // connections open at once, all clients
  std::size_t max_connections_per_client = 0;  // from one address; 0 = no limit
  std::size_t max_header_bytes = 16u << 10u;   // request line and header fields
  std::size_t max_header_count = 100;
  std::size_t max_url_bytes = 8u << 10u;
  std::size_t event_loops = 0;  // threads serving connections; 0 = one per core
  int max_json_depth = 64;
  double shutdown_grace_seconds = 30.0;  // in-flight requests get this long on SIGTERM
  // Request body fields that set the output's length on some upstream, removed from every body sent
  // upstream besides openai::kVendorLengthFields: names of 1 to 64 characters of [A-Za-z0-9._-],
  // each once, none the gateway reads or sets itself (openai::is_field_the_gateway_reads).
  std::vector<std::string> extra_length_fields;
};

struct GatewayConfig {
  std::string source;                     // the config file's path (for messages)
  std::string listen_host = "127.0.0.1";  // without brackets for IPv6 ("::1")
  int listen_port = 8080;                 // 0 allowed (any free port)
  std::string ledger_path;  // required; relative paths resolved against the config file's folder
  std::int64_t budget_tokens = 0;      // budget.completion_tokens, required, > 0
  std::int64_t window_seconds = 3600;  // budget.window_seconds, >= 0 (0 = one window for all time)
  // Optional model file (ThresholdPredictor), resolved like ledger_path; "" = none.
  std::string predictor_path;
  PacingPolicy policy = PacingPolicy::kClear;  // pacing_policy.h
  AbandonAction on_abandon = AbandonAction::kReject;
  std::int64_t degrade_tokens = 64;  // cap for abandoned requests under on_abandon: degrade, >= 1
  UtilityConfig utility;
  PacerConfig pacer;
  AuctionConfig auction;
  HealthConfig health;
  LimitsConfig limits;
  std::vector<UpstreamConfig> upstreams;  // at least one
  std::vector<ClientKeyConfig> keys;      // empty = no client authentication (serve warns)
  std::string admin_key_sha256;           // "" = /admin/* disabled

  // The upstream called `name`, or nullptr.
  [[nodiscard]] const UpstreamConfig* find_upstream(std::string_view name) const;
};

// The form of an upstream's base_url the gateway uses: without trailing '/' and without a trailing
// "/v1" (the gateway appends "/v1/chat/completions" etc., and OpenAI clients are commonly
// configured with base URLs ending in /v1: "http://host:8000/v1/" becomes "http://host:8000", and
// "https://host/openai/v1" becomes "https://host/openai"). The one place this is done: the parser
// applies it; a GatewayConfig filled in code must hold normalised URLs.
[[nodiscard]] std::string normalize_base_url(std::string_view base_url);

// Looks up an environment variable (tests pass a map; production passes getenv).
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment, through getenv.
[[nodiscard]] EnvLookup process_environment();

// Parses and validates yaml_text; `source` is the file's path, used in messages and as the folder
// relative paths are resolved against.
[[nodiscard]] GatewayConfig parse_gateway_config(std::string_view yaml_text,
                                                 const std::string& source, const EnvLookup& env);

// Reads the file (ConfigError naming the path if it is missing or unreadable) and parses it with
// the process environment.
[[nodiscard]] GatewayConfig load_gateway_config(const std::filesystem::path& path);

// For /admin/state: every setting except secrets (no api_key, no key hashes: ids and budgets only;
// whether an upstream key and the admin key are set, as booleans).
[[nodiscard]] nlohmann::json describe_config(const GatewayConfig& config);

}  // namespace clearhouse::gateway
