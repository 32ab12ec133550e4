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
    state.commit();
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
    state.commit();
  }
  {
    RunState state(path, "f1", 1000, 3);
    EXPECT_EQ(state.queries()[0].charged, 64);
    EXPECT_EQ(state.queries()[0].text, "");
    EXPECT_EQ(state.charged(), 64);
  }
  // Charged once: reopening again does not charge it twice.
  RunState again_state(path, "f1", 1000, 3);
  EXPECT_EQ(again_state.charged(), 64);
}

// Group commit: what was not committed is lost as in a crash. A reservation committed before its
// request went out, whose answer was settled only in memory, is charged whole on reopening.
TEST(RunState, AnAnswerSettledAfterTheLastCommitIsLostAndItsReservationCharged) {
  const auto path = (scratch_dir() / "s.state").string();
  {
    RunState state(path, "f1", 1000, 2);
    state.reserve(0, 50);
    state.reserve(1, 30);
    state.commit();  // before the requests are sent
    state.settle_answer(0, 50, 12, "kept", "{}", QueryStatus::kFinished);
    state.commit();
    state.settle_answer(1, 30, 7, "lost", "{}", QueryStatus::kFinished);
    EXPECT_EQ(state.charged(), 19);
  }  // killed: the second settlement was never committed
  RunState state(path, "f1", 1000, 2);
  EXPECT_EQ(state.queries()[0].status, QueryStatus::kFinished);
  EXPECT_EQ(state.queries()[0].text, "kept");
  EXPECT_EQ(state.queries()[0].charged, 12);
  EXPECT_EQ(state.queries()[1].status, QueryStatus::kPending);
  EXPECT_EQ(state.queries()[1].text, "");
  EXPECT_EQ(state.queries()[1].charged, 30);
  EXPECT_EQ(state.charged(), 42);
}

TEST(RunState, ForgetsACommittedTextInMemoryOnly) {
  const auto path = (scratch_dir() / "s.state").string();
  {
    RunState state(path, "f1", 1000, 1);
    state.reserve(0, 50);
    state.settle_answer(0, 50, 12, "done", "{\"id\": 1}", QueryStatus::kFinished);
    state.commit();
    state.forget_text(0);
    EXPECT_EQ(state.queries()[0].text, "");
    EXPECT_EQ(state.queries()[0].last_body, "");
    state.set_status(0, QueryStatus::kFinished);  // a later change keeps the stored text
    state.commit();
  }
  RunState state(path, "f1", 1000, 1);
  EXPECT_EQ(state.queries()[0].text, "done");
  EXPECT_EQ(state.queries()[0].last_body, "{\"id\": 1}");
}

TEST(RunState, ASecondProcessCannotOpenAStateInUse) {
  const auto path = (scratch_dir() / "s.state").string();
  RunState first(path, "f1", 1000, 1);
  try {
    RunState second(path, "f1", 1000, 1);
    FAIL() << "two owners of one state";
  } catch (const RunStateError& e) {
    EXPECT_NE(std::string(e.what()).find("in use by another process"), std::string::npos)
        << e.what();
  }
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
