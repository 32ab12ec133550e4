// Progressive continuation: spend a token budget in slices, continuing the queries that were cut.
//
// A one-shot cap wastes every token of an answer cut at its cap. With continuation (the server
// resumes from the text generated so far) no generated token is lost, so a budget can be spent in
// slices: give a query Delta tokens; if it stops, it is done; if it is cut, it keeps its text and
// waits to be continued. Which query to serve next, and by how much, is decided by an index.
//
// Model. Query i's output length d (tokens) has a log-normal prior, ln d ~ N(log_mu_i, sigma_i^2),
// and its finished answer is right with probability p_i. Having generated a tokens without
// finishing, its remaining length is the prior conditioned on d > a. The index (a Gittins index for
// a budget of completions: expected correct answers per expected token) is
//
//   G_i(a) = max over Delta of  p_i P(d <= a + Delta | d > a) / E[min(d - a, Delta) | d > a],
//
// where the numerator is the chance the slice finishes the answer and the denominator the tokens it
// is expected to consume (a slice that finishes early uses only what it generated). The survival
// S(a) cancels: G = p (S(a) - S(a+Delta)) / integral_a^{a+Delta} S(x) dx, computed in closed form
// from normal tail ratios in log space, so it stays accurate far in the tail.
//
// Slice grid (whole tokens): kMinSlice * 2^(k/4) rounded, k = 0, 1, ... (16, 19, 23, 27, 32, ...),
// every value at most the query's remaining max_tokens and at most the unreserved budget; the
// query's remaining max_tokens itself is also tried when it fits the budget. When the unreserved
// budget is below kMinSlice, the only slice is what is left of it. A step of 2^(1/4) keeps the
// chosen slice within 19% of the best continuous one.
//
// Without a predictor, default_length_prior() is the documented fallback (see its comment).
//
// Units: tokens (whole, int64) for lengths, slices and budgets; log_mu and log_sigma in natural-log
// tokens; p in [0, 1]. Pure: no I/O, no randomness; ties go to the lower query index.
// Thread-safety: the free functions are reentrant; a ProgressiveScheduler is not thread-safe (one
// owner, e.g. the thread that dispatches requests).
#pragma once

#include <cstdint>
#include <optional>
#include <queue>
#include <span>
#include <vector>

namespace clearhouse::core {

// Optional belief about the length of a *correct* answer: ln d ~ N(log_mu, log_sigma^2).
struct CorrectLength {
  double log_mu = 0.0;
  double log_sigma = 1.0;  // > 0
};

struct LengthPrior {
  double log_mu = 0.0;     // ln of the median output length, ln tokens
  double log_sigma = 1.0;  // std of ln length, > 0
  double p_correct = 1.0;  // probability the finished answer is right, [0, 1]
  // With it, a query that runs long loses its chance of being right: the index's numerator becomes
  // P(right and finished within the slice | d > a) = p (S_c(a) - S_c(a+Delta)) / S(a), S_c the
  // survival of a correct answer's length (at most the chance of finishing at all).
  std::optional<CorrectLength> correct = std::nullopt;
};

// The prior when no predictor is available: median 200 output tokens, sigma 1.0, p = 1. The median
// is that of the shipped ZeroEval answers (all 56,882 recorded runs: median 179, geometric mean 205
// tokens); their std of ln length is 0.71, widened to 1.0 because a new workload's lengths are not
// known to resemble ours. Every query then has the same index, so progressive degrades to equal
// first slices followed by continuation of what was cut.
[[nodiscard]] LengthPrior default_length_prior();

inline constexpr std::int64_t kMinSlice = 16;

// Candidate slices for a query with `query_left` tokens of max_tokens left and `budget_left`
// unreserved tokens (see the header comment). Empty when either is 0. Ascending, distinct.
[[nodiscard]] std::vector<std::int64_t> slice_grid(std::int64_t query_left,
                                                   std::int64_t budget_left);

// P(d <= generated + slice | d > generated).
[[nodiscard]] double completion_probability(const LengthPrior& prior, std::int64_t generated,
                                            std::int64_t slice);
// E[min(d - generated, slice) | d > generated], tokens, in (0, slice].
[[nodiscard]] double expected_slice_tokens(const LengthPrior& prior, std::int64_t generated,
                                           std::int64_t slice);
// p P(finish within the slice | not finished) / expected tokens the slice consumes.
[[nodiscard]] double slice_value(const LengthPrior& prior, std::int64_t generated,
                                 std::int64_t slice);

struct SliceIndex {
  double index = 0.0;      // expected correct answers per token; 0 when nothing can be served
  std::int64_t slice = 0;  // the Delta that attains it (whole tokens); 0 when nothing can be served
};

// G(generated) over slice_grid(query_left, budget_left).
[[nodiscard]] SliceIndex continuation_index(const LengthPrior& prior, std::int64_t generated,
                                            std::int64_t query_left, std::int64_t budget_left);

// One request to make: continue `query` from `offset` generated tokens with at most `cap` more.
struct Slice {
  std::size_t query = 0;
  std::int64_t offset = 0;  // tokens already generated (and kept) for this query
  std::int64_t cap = 0;     // max tokens of this request, >= 1
};

// The scheduling loop: repeatedly serve the waiting query with the highest index, for the slice
// that attains it, until the budget is spent or no query can use it. next() reserves the slice's
// cap out of the budget, complete() charges what was generated and releases the rest, so the sum of
// generated tokens never passes the budget, even with several slices in flight. A query is in at
// most one slice at a time; a finished query is never served again; a query with index 0 (p = 0,
// or no chance left to finish) is not served.
//
// Slices are chosen within what is left of the budget (budget - spent). Indices are evaluated
// lazily: an entry whose slice no longer fits what is left is recomputed when it reaches the top (a
// smaller budget only removes candidate slices, so a stale index is never below the true one, up to
// the grid's resolution). When the best slice fits what is left but not what is unreserved (other
// slices are in flight), next() returns nullopt: wait for a completion. With nothing in flight,
// nullopt means the schedule is over.
class ProgressiveScheduler {
 public:
  // priors[i], max_tokens[i] (>= 0: query i's total cap across all its slices); budget >= 0.
  // generated[i] (empty: all 0): tokens query i has already generated and kept, unfinished (e.g.
  // by an earlier run of the same batch), at most max_tokens[i]; its index is then conditioned on
  // d > generated[i] and its slices continue from there, as if this scheduler had served them.
  // Those tokens are not part of `budget` (pass what is left of it).
  ProgressiveScheduler(std::vector<LengthPrior> priors, std::vector<std::int64_t> max_tokens,
                       std::int64_t budget, std::vector<std::int64_t> generated = {});

  // The next slice to send, its cap reserved; nullopt when nothing can be sent now (see above:
  // over when in_flight() == 0).
  [[nodiscard]] std::optional<Slice> next();
  // The outcome of a slice from next(): `generated` tokens (0..cap) came back, and `finished` says
  // whether the answer ended (stop) rather than being cut. An unfinished query waits again.
  void complete(const Slice& slice, std::int64_t generated, bool finished);
  // A slice that was not served (e.g. its request failed for good): its reservation is released and
  // the query waits again from where it was.
  void cancel(const Slice& slice);

  [[nodiscard]] std::int64_t budget() const { return budget_; }
  [[nodiscard]] std::int64_t spent() const { return spent_; }
  [[nodiscard]] std::int64_t reserved() const { return reserved_; }
  [[nodiscard]] std::int64_t unreserved() const { return budget_ - spent_ - reserved_; }
  [[nodiscard]] std::size_t size() const { return queries_.size(); }
  [[nodiscard]] std::size_t in_flight() const { return in_flight_; }
  [[nodiscard]] std::int64_t generated(std::size_t query) const;
  [[nodiscard]] bool finished(std::size_t query) const;
  [[nodiscard]] int rounds(std::size_t query) const;  // slices completed

 private:
  struct Query {
    LengthPrior prior;
    std::int64_t max_tokens = 0;
    std::int64_t generated = 0;
    int rounds = 0;
    bool finished = false;
    bool in_flight = false;
  };
  struct Entry {
    double index = 0.0;
    std::int64_t slice = 0;
    std::size_t query = 0;
  };
  struct Lower {
    bool operator()(const Entry& x, const Entry& y) const {
      return x.index != y.index ? x.index < y.index : x.query > y.query;
    }
  };
  void enqueue(std::size_t query);

  std::vector<Query> queries_;
  std::priority_queue<Entry, std::vector<Entry>, Lower> waiting_;
  std::int64_t budget_ = 0;
  std::int64_t spent_ = 0;
  std::int64_t reserved_ = 0;
  std::size_t in_flight_ = 0;
};

}  // namespace clearhouse::core
