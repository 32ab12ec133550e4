// ModelRoutes: which upstreams serve a model name a request asks for. Every upstream serves its
// config `model` and its `aliases`; a name may be served by several upstreams (the auction then
// chooses among them, upstream_auction.h), and one upstream's alias may be another's model. Names
// are matched exactly (case-sensitive, as OpenAI does). A name no upstream serves has no route: the
// gateway answers 404 model_not_found rather than letting another model answer it.
//
// What is sent upstream is always the upstream's own `model`, whatever name the request used.
//
// Thread-safety: immutable after construction; safe to read from any thread.
//
// Example:
//   ModelRoutes routes(config.upstreams);
//   const std::vector<std::size_t>* serving = routes.find(request.model);  // config indices
//   if (serving == nullptr) ... 404 ...
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/gateway_config.h"

namespace clearhouse::gateway {

// One name the gateway answers to (a row of GET /v1/models).
struct ModelName {
  std::string name;
  std::vector<std::size_t> upstreams;  // config indices of the upstreams serving it, ascending
};

class ModelRoutes {
 public:
  explicit ModelRoutes(const std::vector<UpstreamConfig>& upstreams);

  // The upstreams serving `model` (config indices, ascending, never empty), or nullptr.
  [[nodiscard]] const std::vector<std::size_t>* find(std::string_view model) const;
  // Every name, each once: the upstreams' models, then their aliases, in config order.
  [[nodiscard]] const std::vector<ModelName>& names() const { return names_; }

 private:
  std::vector<ModelName> names_;
  std::map<std::string, std::size_t, std::less<>> index_;  // name -> position in names_
};

}  // namespace clearhouse::gateway
