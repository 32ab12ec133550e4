#include "run/run_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/surge_utility.h"
#include "core/utility_model.h"

namespace clearhouse::run {

std::vector<std::int64_t> query_caps(const std::vector<BatchQuery>& queries,
                                     std::int64_t max_tokens) {
  std::vector<std::int64_t> caps;
  caps.reserve(queries.size());
  for (const BatchQuery& q : queries)
    caps.push_back(std::min(q.client_cap.value_or(max_tokens), max_tokens));
  return caps;
}

std::vector<core::LengthPrior> length_priors(const std::vector<BatchQuery>& queries,
                                             const predict::ThresholdPredictor* predictor,
                                             const eval::SuccessCalibration* calibration) {
  std::vector<core::LengthPrior> priors;
  priors.reserve(queries.size());
  for (const BatchQuery& q : queries) {
    core::LengthPrior prior = core::default_length_prior();
    if (predictor != nullptr) {
      // As bench's replay items: the median is tau_hat (at least one token), the calibration reads
      // the raw log prediction.
      const double log_tau = predictor->predict_log(q.prompt, q.dataset);
      prior.log_mu = std::log(predictor->predict(q.prompt, q.dataset));
      prior.log_sigma = std::max(1e-3, predictor->log_sigma(q.prompt, q.dataset));
      if (calibration != nullptr && !q.tau) {
        const core::SuccessBelief belief = calibration->belief(q.dataset, log_tau);
        prior.p_correct = belief.p_correct;
        prior.correct = core::CorrectLength{belief.log_mu, belief.log_sigma};
      }
    }
    if (q.tau) prior.log_mu = std::log(*q.tau);
    priors.push_back(prior);
  }
  return priors;
}

namespace {

bool runnable(const core::PolicySpec& spec) {
  if (spec.policy == core::Policy::kProgressive) return true;
  if (!core::available_in(spec, core::PolicyScope::kAllocate) || spec.continuation) return false;
  return std::all_of(spec.required.begin(), spec.required.end(),
                     [](core::PolicyInput in) { return in == core::PolicyInput::kTau; });
}

}  // namespace

std::string run_policy_names() {
  std::string names;
  for (const core::PolicySpec& spec : core::policy_registry()) {
    if (!runnable(spec)) continue;
    if (!names.empty()) names += ", ";
    names += spec.name;
  }
  return names;
}

core::Policy run_policy_named(std::string_view name) {
  const core::PolicySpec* spec = core::find_policy(name);
  if (spec == nullptr || !runnable(*spec)) {
    throw RunInputError("--policy: \"" + std::string(name) +
                        "\" is not one of: " + run_policy_names());
  }
  return spec->policy;
}

std::vector<std::int64_t> one_shot_plan(core::Policy policy, const std::vector<BatchQuery>& queries,
                                        const std::vector<std::int64_t>& caps,
                                        const predict::ThresholdPredictor* predictor,
                                        std::int64_t budget, std::string_view file) {
  const core::PolicySpec& spec = core::policy_spec(policy);
  const bool needs_tau = !spec.required.empty();
  std::vector<double> tau;
  if (needs_tau) {
    for (const BatchQuery& q : queries) {
      if (!q.tau && predictor == nullptr) {
        throw RunInputError(
            fmt::format("{}:{}: tau: policy {} needs tau on every line (or a "
                        "--predictor)",
                        file, q.line, spec.name));
      }
      tau.push_back(q.tau ? *q.tau : predictor->predict(q.prompt, q.dataset));
    }
  }
  std::vector<core::SurgeUtility> utilities;
  core::PolicyInputs inputs;
  inputs.queries = queries.size();
  if (needs_tau) {
    core::UtilityModel model;
    model.beta = 1.0 / core::median(tau);
    utilities = core::build_utilities(tau, model);
    inputs.tau = tau;
    inputs.utilities = utilities;
  }
  inputs.max_cap = *std::max_element(caps.begin(), caps.end());
  // predictor's proportional caps are clipped at the largest cap and the excess shared among the
  // others (as in bench), rather than cut after the fact and left unspent.
  inputs.limits.max_tokens = static_cast<double>(inputs.max_cap);
  std::vector<std::int64_t> plan = core::run_policy(policy, inputs, budget).caps;
  for (std::size_t i = 0; i < plan.size(); ++i) plan[i] = std::min(plan[i], caps[i]);
  return plan;
}

std::string fingerprint(std::string_view input_text, std::string_view options) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  const auto mix = [&hash](std::string_view text) {
    for (const char c : text) {
      hash ^= static_cast<unsigned char>(c);
      hash *= 0x100000001b3ULL;
    }
  };
  mix(input_text);
  mix("\x1f");
  mix(options);
  return fmt::format("{:016x}", hash);
}

}  // namespace clearhouse::run
