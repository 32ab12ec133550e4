#include "data/split.h"

namespace clearhouse::data {
namespace {

constexpr std::uint64_t kFnvOffset = 14695981039346656037ull;
constexpr std::uint64_t kFnvPrime = 1099511628211ull;

std::uint64_t fnv1a(std::uint64_t h, std::string_view bytes) {
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnvPrime;
  }
  return h;
}

std::uint64_t splitmix_finalize(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

std::uint64_t question_hash(std::string_view dataset, std::string_view qid, std::uint64_t salt) {
  std::uint64_t h = fnv1a(kFnvOffset, dataset);
  h = fnv1a(h, std::string_view("\x1f", 1));
  h = fnv1a(h, qid);
  for (int i = 0; i < 8; ++i) {
    h ^= (salt >> (8 * i)) & 0xffu;
    h *= kFnvPrime;
  }
  return splitmix_finalize(h);
}

bool is_test_question(std::string_view dataset, std::string_view qid, double test_fraction,
                      std::uint64_t salt) {
  const double u = static_cast<double>(question_hash(dataset, qid, salt) >> 11) * 0x1.0p-53;
  return u < test_fraction;
}

QuestionSplit split_questions(const Dataset& dataset, double test_fraction, std::uint64_t salt) {
  QuestionSplit split;
  const auto questions = dataset.questions();
  for (std::uint32_t i = 0; i < questions.size(); ++i) {
    const Question& q = questions[i];
    (is_test_question(q.dataset, q.qid, test_fraction, salt) ? split.test : split.train)
        .push_back(i);
  }
  return split;
}

}  // namespace clearhouse::data
