// The executor of `clearhouse run`: sends a batch's slices to an upstream with a pool of workers,
// settles every answer in the resumable state, and writes each query's output line once it is done.
//
// One dispatcher (the calling thread) owns the slice source (slice_source.h), the state and the
// output file; `concurrency` workers only send requests. Before a slice is sent its cap is reserved
// in the source and in the state, after it returns the tokens are settled, so the tokens charged
// never pass the budget, across restarts too (run_state.h).
//
// Group commit: each turn the dispatcher settles every answer that has arrived, fills the free
// slots, and commits the state once before the new requests go out; output lines are written (and
// fsynced) once their queries' state is committed. A crash thus loses at most the settlements since
// the last commit: their requests are charged whole caps by the next run, and no query whose line
// was written is ever sent again.
//
// Failures: 429, 5xx, timeouts, broken connections and refused connections are retried with
// exponential backoff and jitter (base * 2^(attempt-1), at most max_backoff, times a uniform factor
// in [0.5, 1); a Retry-After in seconds is waited at least), up to max_retries retries; then the
// query's line carries the last error. A refusal (an HTTP status) charges nothing; a timeout or a
// broken connection charges the whole cap (the upstream may have generated it). Other 4xx are not
// retried. If a query runs out of retries on refused connections before any answer came back in
// this run, the upstream is taken as unreachable: the run stops with UpstreamUnreachable (requests
// already queued are still sent and settled) and nothing is written as done.
//
// Time: `RunClock` (seconds, monotonic); tests replace it so no test sleeps. Randomness: the
// jitter, seeded. Thread-safety: execute() is one call on one thread; the transport is called from
// the workers concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "http/upstream_client.h"
#include "run/batch_input.h"
#include "run/output_file.h"
#include "run/run_state.h"
#include "run/slice_source.h"

namespace clearhouse::run {

class UpstreamUnreachable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Sends one request body to an endpoint path; must be thread-safe.
using Transport = std::function<http::UpstreamReply(std::string_view path, std::string body)>;

struct RunClock {
  std::function<double()> now;                    // seconds, monotonic
  std::function<void(double seconds)> sleep_for;  // waits (>= 0 seconds)
};
[[nodiscard]] RunClock steady_run_clock();

struct Progress {
  std::size_t done = 0;  // queries whose line is written
  std::size_t total = 0;
  std::int64_t spent = 0;  // tokens charged, all runs of this state
  std::int64_t budget = 0;
  std::int64_t requests = 0;  // sent by this run
  double seconds = 0;         // since this run started
};

struct ExecutorOptions {
  std::int64_t budget = 0;  // tokens, the whole run's (previous runs' charges count against it)
  std::size_t concurrency = 8;
  double rate = 0;  // requests per second, 0 = unlimited
  int max_retries = 4;
  double backoff_seconds = 0.5;
  double max_backoff_seconds = 30;
  std::uint64_t seed = 1;
  // Output lines are written and fsynced in batches: those done within flush_seconds (checked per
  // answer), at most lines_per_flush. Only how soon a line appears depends on it: a line lost in a
  // crash is written by the next run from the committed state.
  std::size_t lines_per_flush = 4096;
  double flush_seconds = 1;
  double progress_seconds = 5;                       // between on_progress calls
  std::function<void(const Progress&)> on_progress;  // may be empty
};

struct RunSummary {
  std::int64_t budget = 0;
  std::int64_t spent = 0;  // tokens charged, all runs
  std::size_t queries = 0;
  std::size_t answered = 0;  // at least one round returned
  std::size_t finished = 0;
  std::size_t truncated = 0;  // answered, not finished
  std::size_t abandoned = 0;  // never answered, budget spent
  std::size_t errors = 0;     // failed after the last retry
  std::int64_t requests = 0;  // all runs
  std::int64_t requests_this_run = 0;
  std::int64_t tokens_this_run = 0;  // generated
  double seconds = 0;                // this run's wall time
};

// true for the queries a run must not serve: done in the state (not pending) or already written.
[[nodiscard]] std::vector<bool> closed_queries(const std::vector<BatchQuery>& queries,
                                               const RunState& state, const OutputFile& out);

// The schedule of a run (first or resumed): progressive (priors) or a one-shot plan, over what is
// left of the budget and of each query's cap (caps[i]: the query's cap, run_plan.h's query_caps)
// once the state's charges and the closed queries are taken out.
struct Schedule {
  bool progressive = true;
  bool continuation = true;               // progressive only
  std::vector<core::LengthPrior> priors;  // progressive
  std::vector<std::int64_t> plan;         // one-shot caps
  std::vector<std::int64_t> caps;
  std::int64_t budget = 0;
};
[[nodiscard]] std::unique_ptr<SliceSource> resumed_source(const std::vector<BatchQuery>& queries,
                                                          const RunState& state,
                                                          const OutputFile& out, Schedule schedule);

// Runs the schedule to its end. `source` was built from `state` (remaining budget and query caps);
// queries whose id already has a line in `out` are never served.
[[nodiscard]] RunSummary execute(const std::vector<BatchQuery>& queries, SliceSource& source,
                                 RunState& state, OutputFile& out, const Transport& transport,
                                 const RunClock& clock, const ExecutorOptions& options);

}  // namespace clearhouse::run
