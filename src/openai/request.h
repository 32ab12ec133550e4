// A client's OpenAI completion request (POST /v1/chat/completions or /v1/completions; a
// Responses API request, POST /v1/responses, is parsed by responses_request.h into the same
// struct), parsed and validated into what the gateway (and the replay upstream) need to decide on
// it, and rebuilt for the upstream with the gateway's token cap (and, for reasoning models, a
// thinking budget below it).
//
// Parsing keeps the client's whole JSON body, so fields we do not interpret (temperature, tools,
// response_format, ...) reach the upstream unchanged, except the fields that set the output's
// length, which the gateway owns (kVendorLengthFields below). Invalid requests throw HttpError 400
// whose `param` names the offending field, as OpenAI does: invalid JSON or nesting deeper than the
// limit, a missing or malformed `messages` / `prompt`, caps that are not integers >= 1, `n` /
// `best_of` outside [1, 128], a non-boolean `stream`. `best_of` is read on both endpoints: OpenAI
// knows it for completions only, but servers such as vLLM accept it on chat too, and it multiplies
// what the upstream generates.
//
// Tokens: the caps are completion (output) tokens per choice. A request for n choices generates up
// to n times its cap, so generations() tells the ledger how many caps to reserve.
//
//   CompletionRequest r = parse_completion_request(body, Endpoint::kChat);
//   std::int64_t cap = std::min(our_cap, r.client_cap().value_or(our_cap));
//   std::string upstream_json = upstream_body(r, cap, "qwen2.5-math-7b").dump();
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "http/http.h"

namespace clearhouse::openai {

enum class Endpoint { kChat, kCompletions, kResponses };

// The upstream path of an endpoint: "/v1/chat/completions", "/v1/completions" or "/v1/responses".
[[nodiscard]] std::string_view endpoint_path(Endpoint endpoint);

// The largest cap a client may set: far beyond any model's context is still a valid request; the
// bound keeps sums finite.
inline constexpr std::int64_t kMaxClientCap = std::int64_t{1} << 32;

// The largest n (choices) or best_of a request may ask for.
inline constexpr std::int64_t kMaxChoices = 128;

struct CompletionRequest {
  Endpoint endpoint = Endpoint::kChat;
  nlohmann::json body;            // the client's body as received (an object)
  std::string model;              // "" when absent
  std::string prompt;             // the last user message (chat) or the prompt (completions)
  std::int64_t prompt_chars = 0;  // code points of every message / the prompt
  std::int64_t messages = 0;      // chat messages (0 for completions)
  std::optional<std::int64_t> max_tokens;
  std::optional<std::int64_t> max_completion_tokens;
  std::optional<std::int64_t> max_output_tokens;  // the Responses API's cap (kResponses only)
  std::int64_t n = 1;                             // choices
  std::int64_t best_of = 1;                       // candidates generated server-side
  bool stream = false;
  bool include_usage = false;  // the client asked for stream_options.include_usage
  std::string dataset;         // metadata.dataset when a string (a predictor hint)

  // The smallest of max_tokens, max_completion_tokens and max_output_tokens; nullopt when the
  // client set none.
  [[nodiscard]] std::optional<std::int64_t> client_cap() const;
  // Sequences the upstream generates per request: max(n, best_of).
  [[nodiscard]] std::int64_t generations() const;
};

// Throws HttpError 400 (see above). max_json_depth bounds the nesting of arrays and objects.
// Endpoint::kResponses is parsed by responses_request_from_json (responses_request.h).
[[nodiscard]] CompletionRequest parse_completion_request(std::string_view body, Endpoint endpoint,
                                                         int max_json_depth = http::kMaxJsonDepth);
// The same checks on a body already parsed (a JSON object: the caller checked, and bounded its
// depth if it needs to).
[[nodiscard]] CompletionRequest completion_request_from_json(nlohmann::json body,
                                                             Endpoint endpoint);

// Vendor body fields that set or force the length of the output, besides max_tokens and
// max_completion_tokens (which upstream_body sets to the cap). The gateway owns the output length:
// a client's value for one of these could make an upstream generate past the cap it was charged
// for, so upstream_body removes them (removing, rather than setting them to the cap, cannot make
// an upstream that does not know a field refuse the request). An operator adds more with the
// config's limits.extra_length_fields.
inline constexpr std::array<std::string_view, 9> kVendorLengthFields = {
    "n_predict",          // llama.cpp server: output tokens; overrides max_tokens in its OpenAI API
    "num_predict",        // Ollama's name for it
    "max_new_tokens",     // Hugging Face TGI and transformers: output tokens
    "max_length",         // transformers and TGI: prompt plus output tokens
    "max_output_tokens",  // OpenAI's Responses API, Gemini, and proxies that map them
    "min_tokens",         // vLLM: tokens generated before an end of sequence may stop the answer
    "min_new_tokens",     // transformers: the same
    "min_length",         // transformers: the same, prompt included
    "ignore_eos",         // vLLM, llama.cpp: generate past the end of sequence, up to the cap
};

// True for the body fields the gateway reads or sets itself (model, messages, prompt, the caps, n,
// best_of, stream, stream_options): they cannot be listed as extra length fields to remove.
[[nodiscard]] bool is_field_the_gateway_reads(std::string_view name);

// Which cap field an upstream honours on chat completions. For /v1/completions the body always
// carries max_tokens alone: that is the field every server reads there (vLLM ignores
// max_completion_tokens on it, so a client's max_completion_tokens would leave the output
// uncapped).
enum class MaxTokensField {
  kAsClientSent,         // each cap field the client sent, set to the cap; max_tokens if none
  kMaxTokens,            // max_tokens alone
  kMaxCompletionTokens,  // max_completion_tokens alone
};

// The answer reserve of a thinking budget when the config does not set one: room for a short final
// answer after the reasoning (tokens).
inline constexpr std::int64_t kDefaultAnswerReserve = 256;

// How the length fields of one upstream's bodies are written (the config's per-upstream
// max_tokens_field and thinking_budget, and limits.extra_length_fields).
struct UpstreamLengths {
  std::span<const std::string> extra_length_fields = {};  // removed, besides kVendorLengthFields
  MaxTokensField max_tokens_field = MaxTokensField::kAsClientSent;
  // A body field capping the reasoning part of the output (vLLM's thinking_token_budget): when not
  // empty, it is set to thinking_budget(cap, answer_reserve), whatever the client sent in it.
  std::string_view thinking_budget_field = {};
  std::int64_t answer_reserve = kDefaultAnswerReserve;
};

// The reasoning budget sent with a cap: cap - answer_reserve, and 0 when the cap is at most the
// reserve (the model must answer without reasoning rather than reason to the cap and end
// mid-thought with nothing answered).
[[nodiscard]] std::int64_t thinking_budget(std::int64_t cap, std::int64_t answer_reserve);

// The body to send upstream, the one place length fields are written: the client's, with `model`
// replaced by upstream_model (when not empty), the fields of kVendorLengthFields and
// extra_length_fields removed, the cap written as max_tokens_field says (max_tokens alone for
// /v1/completions), the thinking budget field set when one is declared, and, for streams,
// stream_options.include_usage = true so the upstream reports usage (and
// stream_options.continuous_usage_stats removed: the gateway asks for one report per answer, though
// the relay settles continuous usage from an upstream that sends it anyway, stream_relay.h).
// `cap` must not exceed client_cap(): the gateway lowers a client's cap, never raises it.
[[nodiscard]] nlohmann::json upstream_body(const CompletionRequest& request, std::int64_t cap,
                                           std::string_view upstream_model,
                                           const UpstreamLengths& lengths);
[[nodiscard]] inline nlohmann::json upstream_body(
    const CompletionRequest& request, std::int64_t cap, std::string_view upstream_model,
    std::span<const std::string> extra_length_fields = {}) {
  return upstream_body(request, cap, upstream_model,
                       UpstreamLengths{.extra_length_fields = extra_length_fields});
}

}  // namespace clearhouse::openai
