#include "core/policy_registry.h"

#include <array>
#include <cassert>

namespace clearhouse::core {
namespace {

constexpr std::array<PolicyInput, 0> kNothing{};
constexpr std::array kTau{PolicyInput::kTau};
constexpr std::array kTeacherTau{PolicyInput::kTeacherTau};
constexpr std::array kTrueLengths{PolicyInput::kTokensNeeded, PolicyInput::kCorrect};
constexpr std::array kSuccessBelief{PolicyInput::kSuccessBelief};
constexpr std::array kLengths{PolicyInput::kTokensNeeded};
constexpr std::array kTauAndBelief{PolicyInput::kTau, PolicyInput::kSuccessBelief};

constexpr std::array kRegistry{
    PolicySpec{Policy::kUniform, "uniform", "the budget split evenly, B/N tokens each", kNothing},
    PolicySpec{Policy::kPredictor, "predictor", "caps proportional to the predicted threshold tau",
               kTau},
    PolicySpec{Policy::kTaleEp, "tale-ep",
               "TALE-EP: caps proportional to a teacher's length estimate", kTeacherTau},
    PolicySpec{Policy::kClearHeuristic, "clear-heuristic",
               "the paper's heuristic: when scarce, needs above the median get 0; the rest share B",
               kTau},
    PolicySpec{Policy::kClearAuction, "clear-auction",
               "the shortest predicted needs that fit the budget share it", kTau},
    PolicySpec{Policy::kClear, "clear",
               "CLEAR: the Lambert shadow-price solution of shifted-surge utilities", kTau},
    PolicySpec{Policy::kOracle, "oracle",
               "knows true lengths and correctness: correct queries, shortest first, get exactly "
               "their length (an upper bound)",
               kTrueLengths},
    PolicySpec{Policy::kClearPlus, "clear-plus",
               "maximises expected solved queries from a calibrated success probability and "
               "length spread",
               kSuccessBelief, /*replay_only=*/true},
    PolicySpec{Policy::kLengthOracle, "length-oracle",
               "knows every true length, not correctness: shortest answers first, each exactly "
               "its length (the ceiling for any policy that cannot see correctness)",
               kLengths, /*replay_only=*/true},
    PolicySpec{Policy::kProgressive, "progressive",
               "continuation: serves slices by expected correct answers per expected token and "
               "continues cut answers (calibrated p and length of a right answer)",
               kTauAndBelief, /*replay_only=*/true, /*continuation=*/true},
    PolicySpec{Policy::kProgressiveLength, "progressive-length",
               "progressive knowing lengths only (p = 1)", kTau, /*replay_only=*/true,
               /*continuation=*/true},
    PolicySpec{Policy::kProgressiveP, "progressive-p",
               "progressive with the calibrated p but the predictor's length prior", kTauAndBelief,
               /*replay_only=*/true, /*continuation=*/true},
};

// A span a policy requires must cover every query.
[[maybe_unused]] bool covers(std::size_t size, const PolicyInputs& inputs) {
  return size == inputs.queries;
}

}  // namespace

std::span<const PolicySpec> policy_registry() {
  return kRegistry;
}

const PolicySpec& policy_spec(Policy policy) {
  for (const PolicySpec& spec : kRegistry) {
    if (spec.policy == policy) return spec;
  }
  assert(false && "every Policy has a registry entry");
  return kRegistry.front();
}

const PolicySpec* find_policy(std::string_view name) {
  for (const PolicySpec& spec : kRegistry) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

bool available_in(const PolicySpec& spec, PolicyScope scope) {
  return scope == PolicyScope::kReplay || !spec.replay_only;
}

std::string_view to_string(Policy policy) {
  return policy_spec(policy).name;
}

std::string_view to_string(PolicyInput input) {
  switch (input) {
    case PolicyInput::kTau: return "tau";
    case PolicyInput::kTeacherTau: return "teacher_tau";
    case PolicyInput::kTokensNeeded: return "tokens_needed";
    case PolicyInput::kCorrect: return "correct";
    case PolicyInput::kSuccessBelief: return "success_belief";
  }
  return "unknown";
}

std::optional<Policy> parse_policy(std::string_view name) {
  const PolicySpec* spec = find_policy(name);
  return spec ? std::optional<Policy>(spec->policy) : std::nullopt;
}

std::string policy_names(PolicyScope scope, std::string_view separator) {
  std::string names;
  for (const PolicySpec& spec : kRegistry) {
    if (!available_in(spec, scope)) continue;
    if (!names.empty()) names += separator;
    names += spec.name;
  }
  return names;
}

std::string policy_help(PolicyScope scope) {
  std::string help;
  for (const PolicySpec& spec : kRegistry) {
    if (!available_in(spec, scope)) continue;
    if (!help.empty()) help += '\n';
    help += std::string(spec.name) + ": " + std::string(spec.description);
    if (!spec.required.empty()) {
      help += " (needs: ";
      for (std::size_t i = 0; i < spec.required.size(); ++i) {
        help += (i ? ", " : "") + std::string(to_string(spec.required[i]));
      }
      help += ")";
    }
  }
  return help;
}

PolicyPlan run_policy(Policy policy, const PolicyInputs& inputs, std::int64_t budget) {
  PolicyPlan plan;
  switch (policy) {
    case Policy::kUniform: plan.caps = allocate_uniform(inputs.queries, budget); break;
    case Policy::kPredictor:
      assert(covers(inputs.tau.size(), inputs));
      plan.caps = allocate_proportional(inputs.tau, budget, inputs.limits);
      break;
    case Policy::kTaleEp:
      assert(covers(inputs.teacher_tau.size(), inputs));
      plan.caps = allocate_proportional(inputs.teacher_tau, budget, inputs.limits);
      break;
    case Policy::kClearHeuristic:
      assert(covers(inputs.tau.size(), inputs));
      plan.caps = allocate_clear_heuristic(inputs.tau, budget);
      break;
    case Policy::kClearAuction:
      assert(covers(inputs.tau.size(), inputs));
      plan.caps = allocate_clear_auction(inputs.tau, budget);
      break;
    case Policy::kClear:
      assert(covers(inputs.utilities.size(), inputs));
      plan.clear = allocate_clear(inputs.utilities, budget, inputs.solver);
      plan.caps = std::move(plan.clear->caps);
      plan.clear->caps.clear();
      break;
    case Policy::kOracle:
      assert(covers(inputs.tokens_needed.size(), inputs) && covers(inputs.correct.size(), inputs));
      plan.caps = allocate_oracle(inputs.tokens_needed, inputs.correct, budget);
      break;
    case Policy::kClearPlus:
      assert(covers(inputs.beliefs.size(), inputs));
      plan.caps = allocate_expected_successes(inputs.beliefs, budget, inputs.max_cap).caps;
      break;
    case Policy::kLengthOracle: {
      // Every answer that fits max_cap counts as worth its length: the oracle without correctness.
      assert(covers(inputs.tokens_needed.size(), inputs));
      std::vector<std::uint8_t> fits(inputs.queries);
      for (std::size_t i = 0; i < inputs.queries; ++i) {
        fits[i] = inputs.tokens_needed[i] <= static_cast<double>(inputs.max_cap);
      }
      plan.caps = allocate_oracle(inputs.tokens_needed, fits, budget);
      break;
    }
    case Policy::kProgressive:
    case Policy::kProgressiveLength:
    case Policy::kProgressiveP:
      assert(false && "continuation policies are run by their replay, not run_policy");
      break;
  }
  return plan;
}

}  // namespace clearhouse::core
