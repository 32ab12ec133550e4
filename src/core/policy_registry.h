// The allocation policies by name: the one list every command reads (`allocate`, `bench`), with
// each policy's description, the per-query inputs it needs, and run_policy, the one place a policy
// is run.
//
//  uniform          floor(B/N) each                                   needs: nothing
//  predictor        caps proportional to the predicted threshold      needs: tau
//  tale-ep          caps proportional to a teacher's length estimate  needs: teacher_tau
//  clear-heuristic  the paper's heuristic (median cutoff when scarce)  needs: tau
//  clear-auction    the shortest predicted needs that fit share B      needs: tau
//  clear            CLEAR, the Lambert shadow-price solution           needs: tau (its utilities)
//  oracle           true lengths and correctness, shortest first      needs: tokens_needed, correct
//  clear-plus       maximises expected solved queries (replay only)   needs: success_belief
//  length-oracle    true lengths, not correctness (replay only)       needs: tokens_needed
//  progressive      continuation: slices by expected correct answers  needs: tau, success_belief
//                   per token (core/progressive.h; replay only here, no caps up front)
//  progressive-length / progressive-p  the same knowing lengths only (p = 1) / p only
//
// clear-plus needs a success belief per query (probability of a right answer and the log-normal
// length of a right answer), which comes from a calibration on recorded answers; `allocate`'s JSONL
// does not carry it, so it is a replay-only policy (PolicyScope::kReplay).
//
// Units: budgets and caps in whole tokens; tau, teacher_tau, tokens_needed in tokens. Everything
// here is immutable static data or a pure function: thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clear_allocation.h"
#include "core/expected_success.h"
#include "core/policies.h"
#include "core/surge_utility.h"

namespace clearhouse::core {

enum class Policy {
  kUniform,
  kPredictor,
  kTaleEp,
  kClearHeuristic,
  kClearAuction,
  kClear,
  kOracle,
  kClearPlus,
  kLengthOracle,
  kProgressive,
  kProgressiveLength,
  kProgressiveP
};

// A per-query input a policy reads. Its name is the field of `allocate`'s JSONL input.
enum class PolicyInput { kTau, kTeacherTau, kTokensNeeded, kCorrect, kSuccessBelief };

// Where a policy can run: kAllocate = from JSONL query fields (`allocate`); kReplay = on recorded
// answers (`bench`), where every input, including a success belief, is known.
enum class PolicyScope { kAllocate, kReplay };

struct PolicySpec {
  Policy policy;
  std::string_view name;                  // as typed on the command line and written in reports
  std::string_view description;           // one line for help texts
  std::span<const PolicyInput> required;  // in the order they are checked
  bool replay_only = false;               // true: not available in PolicyScope::kAllocate
  // true: the policy does not plan caps up front; it serves slices and continues cut answers
  // (core/progressive.h), so run_policy does not run it (eval's progressive replay does).
  bool continuation = false;
};

// Every policy, in the order reports list them (clear-plus last).
[[nodiscard]] std::span<const PolicySpec> policy_registry();
[[nodiscard]] const PolicySpec& policy_spec(Policy policy);
// nullptr for an unknown name.
[[nodiscard]] const PolicySpec* find_policy(std::string_view name);
[[nodiscard]] bool available_in(const PolicySpec& spec, PolicyScope scope);

[[nodiscard]] std::string_view to_string(Policy policy);
[[nodiscard]] std::string_view to_string(PolicyInput input);  // "tau", "teacher_tau", ...
// Any policy of the registry, whatever its scope.
[[nodiscard]] std::optional<Policy> parse_policy(std::string_view name);

// The names available in `scope`, joined by `separator` ("uniform, predictor, ...").
[[nodiscard]] std::string policy_names(PolicyScope scope, std::string_view separator = ", ");
// One line per policy available in `scope`: "name: description (needs: a, b)", '\n'-separated.
[[nodiscard]] std::string policy_help(PolicyScope scope);

// The per-query inputs of one batch. Every span a policy requires holds one entry per query; the
// others may be empty.
struct PolicyInputs {
  std::size_t queries = 0;
  std::span<const double> tau;                   // predicted thresholds, tokens
  std::span<const double> teacher_tau;           // tale-ep's teacher estimates, tokens
  std::span<const double> tokens_needed;         // oracle: true lengths, tokens
  std::span<const std::uint8_t> correct;         // oracle: right at full length
  std::span<const SuccessBelief> beliefs;        // clear-plus
  std::span<const SurgeUtility> utilities;       // clear: one shifted surge per query (from tau)
  ProportionalLimits limits;                     // predictor and tale-ep: per-query clip, tokens
  PriceSolver solver = PriceSolver::kExact;      // clear
  std::int64_t max_cap = std::int64_t{1} << 20;  // clear-plus: no cap above this, tokens
};

struct PolicyPlan {
  std::vector<std::int64_t> caps;  // whole tokens, one per query; 0 = abandoned
  // clear only: its shadow price, fill price, bound and solver details (caps moved to `caps`).
  std::optional<ClearPlan> clear;
};

// Runs a one-shot `policy` (not a continuation policy) on one batch; total caps <= budget (tokens,
// >= 0). A required input that is missing or of the wrong length, or a continuation policy, is a
// programmer error (callers check their inputs against `required` and `continuation`).
[[nodiscard]] PolicyPlan run_policy(Policy policy, const PolicyInputs& inputs, std::int64_t budget);

}  // namespace clearhouse::core
