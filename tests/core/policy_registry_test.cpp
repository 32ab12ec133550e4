#include "core/policy_registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "core/integerize.h"
#include "core/utility_model.h"

namespace clearhouse::core {
namespace {

TEST(PolicyRegistry, EveryPolicyHasOneUniqueEntryThatRoundTrips) {
  std::set<std::string_view> names;
  std::set<Policy> policies;
  for (const PolicySpec& spec : policy_registry()) {
    EXPECT_TRUE(names.insert(spec.name).second) << spec.name;
    EXPECT_TRUE(policies.insert(spec.policy).second) << spec.name;
    EXPECT_FALSE(spec.description.empty()) << spec.name;
    EXPECT_EQ(&policy_spec(spec.policy), &spec);
    EXPECT_EQ(find_policy(spec.name), &spec);
    EXPECT_EQ(parse_policy(to_string(spec.policy)), spec.policy);
  }
  EXPECT_EQ(policy_registry().size(), 12u);
  EXPECT_EQ(find_policy("greedy"), nullptr);
}

TEST(PolicyRegistry, RequiredInputsAreWhatEachPolicyReads) {
  using enum PolicyInput;
  const auto required = [](std::string_view name) {
    const auto r = find_policy(name)->required;
    return std::vector<PolicyInput>(r.begin(), r.end());
  };
  EXPECT_TRUE(required("uniform").empty());
  EXPECT_EQ(required("predictor"), std::vector<PolicyInput>{kTau});
  EXPECT_EQ(required("tale-ep"), std::vector<PolicyInput>{kTeacherTau});
  EXPECT_EQ(required("clear"), std::vector<PolicyInput>{kTau});
  EXPECT_EQ(required("oracle"), (std::vector<PolicyInput>{kTokensNeeded, kCorrect}));
  EXPECT_EQ(required("clear-plus"), std::vector<PolicyInput>{kSuccessBelief});
  EXPECT_EQ(required("length-oracle"), std::vector<PolicyInput>{kTokensNeeded});
  EXPECT_EQ(required("progressive"), (std::vector<PolicyInput>{kTau, kSuccessBelief}));
  EXPECT_EQ(required("progressive-length"), std::vector<PolicyInput>{kTau});
  EXPECT_EQ(to_string(kTokensNeeded), "tokens_needed");
}

TEST(PolicyRegistry, ClearPlusIsReplayOnlyAndTheNamesFollowTheScope) {
  EXPECT_FALSE(available_in(*find_policy("clear-plus"), PolicyScope::kAllocate));
  EXPECT_TRUE(available_in(*find_policy("clear-plus"), PolicyScope::kReplay));
  EXPECT_EQ(policy_names(PolicyScope::kAllocate),
            "uniform, predictor, tale-ep, clear-heuristic, clear-auction, clear, oracle");
  EXPECT_EQ(policy_names(PolicyScope::kReplay, ","),
            "uniform,predictor,tale-ep,clear-heuristic,clear-auction,clear,oracle,clear-plus,"
            "length-oracle,progressive,progressive-length,progressive-p");
}

TEST(PolicyRegistry, HelpHasOneLinePerPolicyWithItsInputs) {
  const std::string help = policy_help(PolicyScope::kAllocate);
  EXPECT_EQ(std::count(help.begin(), help.end(), '\n'), 6);
  EXPECT_NE(help.find("oracle: "), std::string::npos);
  EXPECT_NE(help.find("(needs: tokens_needed, correct)"), std::string::npos);
  EXPECT_EQ(help.find("clear-plus"), std::string::npos);
  EXPECT_NE(policy_help(PolicyScope::kReplay).find("clear-plus: "), std::string::npos);
}

// Every policy, run through the one dispatch, stays within the budget and gives one cap per query.
TEST(PolicyRegistry, RunPolicyRespectsTheBudgetForEveryPolicy) {
  const std::vector<double> tau{100, 200, 400, 800, 150};
  const std::vector<double> teacher{120, 150, 380, 900, 160};
  const std::vector<double> needed{90, 210, 350, 820, 140};
  const std::vector<std::uint8_t> correct{1, 1, 0, 1, 1};
  std::vector<SuccessBelief> beliefs;
  for (double t : tau) beliefs.push_back({0.8, std::log(t), 0.5});
  const auto utilities = build_utilities(tau, UtilityModel{});
  PolicyInputs in;
  in.queries = tau.size();
  in.tau = tau;
  in.teacher_tau = teacher;
  in.tokens_needed = needed;
  in.correct = correct;
  in.beliefs = beliefs;
  in.utilities = utilities;
  for (const PolicySpec& spec : policy_registry()) {
    if (spec.continuation) continue;  // no caps up front: run by eval's progressive replay
    const PolicyPlan plan = run_policy(spec.policy, in, 600);
    ASSERT_EQ(plan.caps.size(), tau.size()) << spec.name;
    EXPECT_LE(total_tokens(plan.caps), 600) << spec.name;
    for (const auto cap : plan.caps) EXPECT_GE(cap, 0) << spec.name;
    EXPECT_EQ(plan.clear.has_value(), spec.policy == Policy::kClear) << spec.name;
  }
}

}  // namespace
}  // namespace clearhouse::core
