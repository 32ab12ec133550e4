#include "run/batch_input.h"

#include <cmath>
#include <unordered_set>

#include "http/http.h"

namespace clearhouse::run {
namespace {

using nlohmann::json;

struct LineContext {
  std::string_view file;
  std::size_t line;

  [[noreturn]] void fail(std::string_view field, std::string_view what) const {
    throw RunInputError(std::string(file) + ":" + std::to_string(line) + ": " + std::string(field) +
                        ": " + std::string(what));
  }
};

std::string string_id(const json& object, std::string_view key, const LineContext& at) {
  const auto it = object.find(key);
  if (it == object.end()) at.fail(key, "missing");
  if (it->is_number_integer()) return std::to_string(it->get<std::int64_t>());
  if (!it->is_string() || it->get<std::string>().empty())
    at.fail(key, "must be a non-empty string");
  return it->get<std::string>();
}

std::optional<double> optional_tau(const json& object, const LineContext& at) {
  const auto it = object.find("tau");
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() <= 0) {
    at.fail("tau", "must be a number > 0 (tokens)");
  }
  return it->get<double>();
}

// The workload a line belongs to ("gsm", "math-l5", ...): selects the predictor's dataset head and
// the calibration's group, as `clearhouse bench` does with the recorded dataset of a question.
std::string optional_dataset(const json& object, const LineContext& at) {
  const auto it = object.find("dataset");
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_string() || it->get<std::string>().empty()) {
    at.fail("dataset", "must be a non-empty string");
  }
  return it->get<std::string>();
}

// Validates a request body with the OpenAI parser; its 400s name the field in `param`.
openai::CompletionRequest checked_request(json body, openai::Endpoint endpoint,
                                          std::string_view default_model, std::string_view prefix,
                                          const LineContext& at) {
  if (!body.contains("model") || !body["model"].is_string() ||
      body["model"].get<std::string>().empty()) {
    if (default_model.empty()) at.fail(std::string(prefix) + "model", "missing (and no --model)");
    body["model"] = std::string(default_model);
  }
  try {
    openai::CompletionRequest request = completion_request_from_json(std::move(body), endpoint);
    if (request.generations() != 1) at.fail(std::string(prefix) + "n", "only n = 1 is supported");
    return request;
  } catch (const http::HttpError& e) {
    at.fail(std::string(prefix) + (e.param().empty() ? std::string("body") : e.param()), e.what());
  }
}

// The validated request's body (model defaulted), prompt and client cap, for both line formats.
void take_request(BatchQuery& q, openai::CompletionRequest request,
                  std::string_view default_model) {
  q.body = std::move(request.body);
  q.body["model"] = request.model.empty() ? std::string(default_model) : request.model;
  q.prompt = std::move(request.prompt);
  q.client_cap = request.client_cap();
  q.dataset = std::move(request.dataset);  // body.metadata.dataset, as the gateway reads it
}

// Moves the body out of `object`.
BatchQuery batch_api_line(json& object, std::string_view default_model, const LineContext& at) {
  BatchQuery q;
  q.format = LineFormat::kBatchApi;
  q.id = string_id(object, "custom_id", at);
  const auto method = object.find("method");
  if (method != object.end() && (!method->is_string() || method->get<std::string>() != "POST")) {
    at.fail("method", "must be \"POST\"");
  }
  const auto url = object.find("url");
  if (url == object.end() || !url->is_string()) at.fail("url", "missing");
  const std::string path = url->get<std::string>();
  if (path == "/v1/chat/completions") {
    q.endpoint = openai::Endpoint::kChat;
  } else if (path == "/v1/completions") {
    q.endpoint = openai::Endpoint::kCompletions;
  } else {
    at.fail("url",
            "unknown url \"" + path + "\" (expected /v1/chat/completions or /v1/completions)");
  }
  const auto body = object.find("body");
  if (body == object.end()) at.fail("body", "missing");
  if (!body->is_object()) at.fail("body", "must be a JSON object");
  take_request(q, checked_request(std::move(*body), q.endpoint, default_model, "body.", at),
               default_model);
  q.tau = optional_tau(object, at);
  if (std::string dataset = optional_dataset(object, at); !dataset.empty()) q.dataset = dataset;
  return q;
}

BatchQuery query_line(const json& object, std::string_view default_model, const LineContext& at) {
  BatchQuery q;
  q.format = LineFormat::kQuery;
  q.id = string_id(object, "id", at);
  q.endpoint = openai::Endpoint::kChat;
  json body = json::object();
  const bool has_prompt = object.contains("prompt");
  if (has_prompt == object.contains("messages"))
    at.fail("prompt", "give exactly one of prompt, messages");
  if (has_prompt) {
    if (!object["prompt"].is_string()) at.fail("prompt", "must be a string");
    body["messages"] = json::array({{{"role", "user"}, {"content", object["prompt"]}}});
  } else {
    body["messages"] = object["messages"];
  }
  if (object.contains("max_tokens")) body["max_tokens"] = object["max_tokens"];
  if (object.contains("model")) body["model"] = object["model"];
  take_request(q, checked_request(std::move(body), q.endpoint, default_model, "", at),
               default_model);
  q.tau = optional_tau(object, at);
  if (std::string dataset = optional_dataset(object, at); !dataset.empty()) q.dataset = dataset;
  return q;
}

}  // namespace

std::vector<BatchQuery> parse_batch(std::string_view text, std::string_view file,
                                    std::string_view default_model) {
  std::vector<BatchQuery> queries;
  std::unordered_set<std::string> ids;
  std::size_t line = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view raw = text.substr(start, end - start);
    start = end + 1;
    ++line;
    if (raw.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const LineContext at{file, line};
    json object = json::parse(raw, nullptr, /*allow_exceptions=*/false);
    if (object.is_discarded()) at.fail("line", "not valid JSON");
    if (!object.is_object()) at.fail("line", "not a JSON object");
    BatchQuery q = object.contains("custom_id") || object.contains("url")
                       ? batch_api_line(object, default_model, at)
                       : query_line(object, default_model, at);
    q.line = line;
    q.body.erase("stream");
    q.body.erase("stream_options");
    if (!ids.insert(q.id).second) {
      at.fail(q.format == LineFormat::kBatchApi ? "custom_id" : "id",
              "duplicate id \"" + q.id + "\"");
    }
    queries.push_back(std::move(q));
  }
  if (queries.empty()) throw RunInputError(std::string(file) + ": no queries");
  return queries;
}

}  // namespace clearhouse::run
