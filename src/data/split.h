// Deterministic train/test split of questions, so a predictor never sees an evaluation question.
//
// A question goes to the test part iff u(dataset, qid) < test_fraction, where u in [0, 1) comes
// from a stable 64-bit hash (FNV-1a then a SplitMix64 finalizer) of the dataset, a 0x1F separator,
// the qid and the salt. The hash is defined here byte by byte, so the split is the same on every
// platform, build and run, and a question's side does not depend on which other questions are in
// the file (held-out files split consistently). About 30% test by default.
//
//   auto split = clearhouse::data::split_questions(ds);   // split.train, split.test: question
//   indices
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "data/dataset.h"

namespace clearhouse::data {

inline constexpr double kDefaultTestFraction = 0.3;

// Stable hash of a question id.
std::uint64_t question_hash(std::string_view dataset, std::string_view qid, std::uint64_t salt = 0);

// True iff the question belongs to the test part.
bool is_test_question(std::string_view dataset, std::string_view qid,
                      double test_fraction = kDefaultTestFraction, std::uint64_t salt = 0);

struct QuestionSplit {
  std::vector<std::uint32_t> train;  // indices into Dataset::questions(), ascending
  std::vector<std::uint32_t> test;   // disjoint from train; together they cover every question
};

QuestionSplit split_questions(const Dataset& dataset, double test_fraction = kDefaultTestFraction,
                              std::uint64_t salt = 0);

}  // namespace clearhouse::data
