// A provider of LLM-as-a-service: a name, a list price per output token and a compute curve, i.e. a
// grid of compute levels theta with the accuracy and mean output tokens the model reaches at each.
//
// Units: price in USD per million output tokens (as list prices are quoted); tokens are output
// tokens per query (a mean, so fractional); accuracy is a probability in [0, 1]; theta is whatever
// the curve's compute knob is (an output-token cap, a number of samples) and is only ordered.
//
// Example:
//   Provider p{"Qwen2-7B", 0.20, {{64, 0.05, 60.1}, {256, 0.21, 190.4}, {1024, 0.24, 260.0}}};
//   std::string why = validate(p);   // empty when valid
#pragma once

#include <span>
#include <string>
#include <vector>

namespace clearhouse::market {

struct ComputeLevel {
  double theta = 0.0;     // compute knob; strictly increasing along a curve
  double accuracy = 0.0;  // share of queries answered correctly at this level, in [0, 1]
  double tokens = 0.0;    // mean output tokens per query at this level, >= 0
};

struct Provider {
  std::string name;
  double usd_per_mtok = 0.0;  // list price, USD per million output tokens, >= 0
  std::vector<ComputeLevel> levels;
};

// Empty when the provider is usable; otherwise a one-line reason naming the provider and level
// (levels numbered from 0). Requires a name, at least one level, a finite non-negative price,
// finite accuracies in [0, 1], finite non-negative tokens and strictly increasing theta.
[[nodiscard]] std::string validate(const Provider& provider);

// Empty when every provider is valid, names are distinct and there are at least `min_providers`.
[[nodiscard]] std::string validate(std::span<const Provider> providers, std::size_t min_providers);

}  // namespace clearhouse::market
