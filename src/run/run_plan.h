// What `clearhouse run` decides before sending anything: each query's token cap, its length prior
// (progressive), the one-shot plan of a registry policy, and the fingerprint that ties a state file
// to its input and options.
//
// Caps: a query's cap is its own max_tokens (or max_completion_tokens) when it has one, lowered to
// --max-tokens; a client's cap is never raised. Priors: a line's tau, else the predictor's tau_hat
// (of the line's dataset, when it names one), as the log-normal median; sigma from the predictor's
// model file (its log_sigma), else the fallback prior's (core::default_length_prior(), median 200
// tokens, sigma 1.0, p = 1). With clear-plus's success calibration (the sidecar `clearhouse train`
// writes beside the predictor), a query whose prior is the predictor's also gets the calibrated
// p_correct and the length of a right answer: exactly the priors of `clearhouse bench`'s
// `progressive` (eval/progressive_replay.h), which that calibration improves in replay
// (docs/results.md). A line with its own tau keeps p = 1: the calibration maps the predictor's
// estimates, not someone else's.
//
// Units: tokens. Pure functions (the predictor is read, not loaded, here); thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/policy_registry.h"
#include "core/progressive.h"
#include "eval/success_calibration.h"
#include "predict/threshold_predictor.h"
#include "run/batch_input.h"

namespace clearhouse::run {

[[nodiscard]] std::vector<std::int64_t> query_caps(const std::vector<BatchQuery>& queries,
                                                   std::int64_t max_tokens);

// predictor and calibration may be null (a calibration without a predictor is ignored).
[[nodiscard]] std::vector<core::LengthPrior> length_priors(
    const std::vector<BatchQuery>& queries, const predict::ThresholdPredictor* predictor,
    const eval::SuccessCalibration* calibration = nullptr);

// The policies `run` executes: progressive, and every one-shot policy `allocate` can run whose
// inputs a batch can carry (tau). Unknown or unsupported names: RunInputError listing the choices.
[[nodiscard]] core::Policy run_policy_named(std::string_view name);
[[nodiscard]] std::string run_policy_names();

// The caps of a one-shot policy, each at most the query's cap, summing to at most budget. A policy
// needing tau on a line with none (and no predictor) is a RunInputError naming file:line: tau.
[[nodiscard]] std::vector<std::int64_t> one_shot_plan(core::Policy policy,
                                                      const std::vector<BatchQuery>& queries,
                                                      const std::vector<std::int64_t>& caps,
                                                      const predict::ThresholdPredictor* predictor,
                                                      std::int64_t budget, std::string_view file);

// A hex digest (FNV-1a, 64 bits) of the input text and the options that shape the schedule.
[[nodiscard]] std::string fingerprint(std::string_view input_text, std::string_view options);

}  // namespace clearhouse::run
