// The resumable state: survives reopening, refuses another input's file, charges a reservation left
// open by a killed process.

#include "run/run_state.h"

#include <gtest/gtest.h>

#include "support/run_binary.h"

namespace clearhouse::run {
namespace {

using clearhouse::testing::scratch_dir;

TEST(RunState, KeepsSettledAnswersAcrossReopening) {
  const auto path = (scratch_dir() / "s.state").string();
  {
    RunState state(path, "f1", 1000, 2);
    EXPECT_FALSE(state.resumed());
    state.reserve(1, 40);
    state.settle_answer(1, 40, 40, "hello", R"({"choices":[]})", QueryStatus::kPending);
  }
  RunState state(path, "f1", 1000, 2);
  EXPECT_TRUE(state.resumed());
  EXPECT_EQ(state.queries()[1].text, "hello");
  EXPECT_EQ(state.queries()[1].generated, 40);
  EXPECT_EQ(state.queries()[1].rounds, 1);
  EXPECT_EQ(state.queries()[1].requests, 1);
  EXPECT_EQ(state.charged(), 40);
  EXPECT_EQ(state.queries()[0].status, QueryStatus::kPending);
}

TEST(RunState, ChargesTheWholeReservationOfARequestInFlightAtAKill) {
  const auto path = (scratch_dir() / "s.state").string();
  {
    RunState state(path, "f1", 1000, 3);
    state.reserve(0, 64);  // the process dies before the answer is settled
    state.reserve(2, 10);
    state.settle_failure(2, 0);  // a refusal: nothing charged
  }
  RunState state(path, "f1", 1000, 3);
  EXPECT_EQ(state.queries()[0].charged, 64);
  EXPECT_EQ(state.queries()[0].text, "");
  EXPECT_EQ(state.charged(), 64);
  // Charged once: reopening again does not charge it twice.
  RunState again_state(path, "f1", 1000, 3);
  EXPECT_EQ(again_state.charged(), 64);
}

TEST(RunState, RefusesAStateWrittenForAnotherInput) {
  const auto path = (scratch_dir() / "s.state").string();
  { RunState state(path, "f1", 1000, 1); }
  try {
    RunState other(path, "f2", 1000, 1);
    FAIL() << "accepted a foreign state";
  } catch (const RunStateError& e) {
    EXPECT_NE(std::string(e.what()).find("another input or other options"), std::string::npos);
  }
}

}  // namespace
}  // namespace clearhouse::run
