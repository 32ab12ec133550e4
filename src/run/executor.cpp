#include "run/executor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "openai/request.h"
#include "run/wire.h"

namespace clearhouse::run {

RunClock steady_run_clock() {
  const auto origin = std::chrono::steady_clock::now();
  return {[origin] {
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - origin).count();
          },
          [](double seconds) {
            if (seconds > 0) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
          }};
}

std::vector<bool> closed_queries(const std::vector<BatchQuery>& queries, const RunState& state,
                                 const OutputFile& out) {
  std::vector<bool> closed(queries.size());
  for (std::size_t i = 0; i < queries.size(); ++i) {
    closed[i] = state.queries()[i].status != QueryStatus::kPending ||
                out.existing_ids().contains(queries[i].id);
  }
  return closed;
}

std::unique_ptr<SliceSource> resumed_source(const std::vector<BatchQuery>& queries,
                                            const RunState& state, const OutputFile& out,
                                            Schedule schedule) {
  const std::vector<bool> closed = closed_queries(queries, state, out);
  const std::int64_t left = std::max<std::int64_t>(0, schedule.budget - state.charged());
  if (schedule.progressive) {
    // A query cut in an earlier run continues where it stopped: its index is conditioned on the
    // tokens it kept. One that is closed (or served once, without continuation) has nothing left.
    std::vector<std::int64_t> kept(queries.size());
    for (std::size_t i = 0; i < queries.size(); ++i) {
      const std::int64_t generated = std::min(state.queries()[i].generated, schedule.caps[i]);
      const bool served_once = !schedule.continuation && state.queries()[i].rounds > 0;
      kept[i] = closed[i] || served_once ? schedule.caps[i] : generated;
    }
    return progressive_source(std::move(schedule.priors), std::move(schedule.caps), std::move(kept),
                              left, schedule.continuation);
  }
  for (std::size_t i = 0; i < queries.size(); ++i) {
    if (closed[i] || state.queries()[i].rounds > 0) schedule.plan[i] = 0;
  }
  return plan_source(std::move(schedule.plan), left);
}

namespace {

struct Job {
  core::Slice slice;
  std::string path;
  std::string body;
  double not_before = 0;  // RunClock seconds
};

struct Done {
  core::Slice slice;
  http::UpstreamReply reply;
};

// A blocking FIFO between the dispatcher and the workers.
template <typename T>
class Channel {
 public:
  void push(T item) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(std::move(item));
    }
    cond_.notify_one();
  }
  // nullopt once closed and empty.
  std::optional<T> pop() {
    std::unique_lock lock(mutex_);
    cond_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }
  // Every item there is, waiting for at least one (none once closed and empty).
  std::deque<T> pop_all() {
    std::unique_lock lock(mutex_);
    cond_.wait(lock, [&] { return closed_ || !items_.empty(); });
    std::deque<T> all;
    all.swap(items_);
    return all;
  }
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    cond_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cond_;
  std::deque<T> items_;
  bool closed_ = false;
};

// A refusal generated nothing; a request cut by a timeout or a broken connection may have generated
// up to its cap.
std::int64_t failure_charge(const http::UpstreamReply& reply, std::int64_t cap) {
  const bool may_have_generated = reply.failure == http::UpstreamFailure::kTimeout ||
                                  reply.failure == http::UpstreamFailure::kClosed ||
                                  reply.failure == http::UpstreamFailure::kCanceled;
  return may_have_generated ? cap : 0;
}

bool retryable(const http::UpstreamReply& reply) {
  if (reply.failure != http::UpstreamFailure::kNone) return true;
  return reply.status == 429 || reply.status == 408 || reply.status >= 500;
}

double retry_after_seconds(const std::string& header) {
  if (header.empty() || header.find_first_not_of("0123456789.") != std::string::npos) return 0;
  return std::stod(header);
}

std::string describe(const http::UpstreamReply& reply) {
  if (reply.failure != http::UpstreamFailure::kNone) {
    return std::string(http::to_string(reply.failure)) + ": " + reply.message;
  }
  std::string what = "HTTP " + std::to_string(reply.status);
  const auto body = nlohmann::json::parse(reply.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_object() &&
      body["error"].value("message", nlohmann::json()).is_string()) {
    what += ": " + body["error"]["message"].get<std::string>();
  }
  return what;
}

class Dispatcher {
 public:
  Dispatcher(const std::vector<BatchQuery>& queries, SliceSource& source, RunState& state,
             OutputFile& out, const RunClock& clock, const ExecutorOptions& options)
      : queries_(queries),
        source_(source),
        state_(state),
        out_(out),
        clock_(clock),
        options_(options),
        attempts_(queries.size(), 0),
        not_before_(queries.size(), 0.0),
        written_(closed_written(queries, out)),
        rng_(options.seed),
        start_(clock.now()) {}

  RunSummary run(const Transport& transport);

 private:
  static std::vector<bool> closed_written(const std::vector<BatchQuery>& queries,
                                          const OutputFile& out) {
    std::vector<bool> written(queries.size());
    for (std::size_t i = 0; i < queries.size(); ++i) {
      written[i] = out.existing_ids().contains(queries[i].id);
    }
    return written;
  }
  Job prepare(const core::Slice& slice);
  void receive(const Done& done);
  void settle_stopped(const Done& done);
  void answer(const core::Slice& slice, const http::UpstreamReply& reply);
  void fail(const core::Slice& slice, const http::UpstreamReply& reply);
  void emit(std::size_t query, nlohmann::json last_body = nullptr);
  void flush();
  void report(bool force);
  RunSummary summary() const;

  const std::vector<BatchQuery>& queries_;
  SliceSource& source_;
  RunState& state_;
  OutputFile& out_;
  const RunClock& clock_;
  const ExecutorOptions& options_;
  std::vector<int> attempts_;
  std::vector<double> not_before_;
  std::vector<bool> written_;
  std::vector<std::string> pending_lines_;
  std::vector<std::size_t> pending_queries_;  // whose lines are in pending_lines_
  std::mt19937_64 rng_;
  double start_ = 0;
  double next_send_ = 0;
  double last_report_ = 0;
  double last_flush_ = 0;
  std::int64_t requests_ = 0;
  std::int64_t tokens_ = 0;
  std::int64_t answers_ = 0;
  std::optional<std::string> unreachable_;
  Channel<Job> jobs_;
  Channel<Done> done_;
};

// Reserves the slice in the state; the caller commits before the job is sent.
Job Dispatcher::prepare(const core::Slice& slice) {
  const std::size_t q = slice.query;
  const BatchQuery& query = queries_[q];
  state_.reserve(q, slice.cap);
  Job job{slice, std::string(openai::endpoint_path(query.endpoint)),
          slice_body(query, state_.queries()[q].text, slice.cap).dump(), 0};
  const double now = clock_.now();
  job.not_before = std::max(now, not_before_[q]);
  if (options_.rate > 0) {
    job.not_before = std::max(job.not_before, next_send_);
    next_send_ = job.not_before + 1.0 / options_.rate;
  }
  ++requests_;
  return job;
}

void Dispatcher::answer(const core::Slice& slice, const http::UpstreamReply& reply) {
  const std::size_t q = slice.query;
  std::optional<SliceAnswer> a = read_answer(reply.body, slice.cap);
  if (!a) {  // a 200 that is not a completion: nothing to keep, the cap may have been generated
    state_.settle_failure(q, slice.cap);
    state_.set_status(q, QueryStatus::kFailed, "the upstream's answer is not a completion");
    source_.drop(slice, slice.cap);
    emit(q);
    return;
  }
  attempts_[q] = 0;
  ++answers_;
  tokens_ += a->tokens;
  const bool continues = !a->finished && can_continue(queries_[q]) && source_.continues();
  const QueryStatus status = a->finished
                                 ? QueryStatus::kFinished
                                 : (continues ? QueryStatus::kPending : QueryStatus::kClosed);
  state_.settle_answer(q, slice.cap, a->tokens, a->text, reply.body, status);
  if (continues) {
    source_.settle(slice, a->tokens, false);
  } else {
    source_.drop(slice, a->tokens);
    emit(q, std::move(a->body));
  }
}

void Dispatcher::fail(const core::Slice& slice, const http::UpstreamReply& reply) {
  const std::size_t q = slice.query;
  const std::int64_t charge = failure_charge(reply, slice.cap);
  state_.settle_failure(q, charge);
  const bool again = retryable(reply) && attempts_[q] < options_.max_retries;
  if (!again) {
    if (reply.failure == http::UpstreamFailure::kConnect && answers_ == 0) {
      unreachable_ = describe(reply);  // nothing answered yet: stop, write nothing as done
      source_.release(slice);
      return;
    }
    state_.set_status(
        q, QueryStatus::kFailed,
        describe(reply) + " (after " + std::to_string(attempts_[q] + 1) + " attempts)");
    source_.drop(slice, charge);
    emit(q);
    return;
  }
  ++attempts_[q];
  const double exponential =
      std::min(options_.max_backoff_seconds,
               options_.backoff_seconds * std::pow(2.0, static_cast<double>(attempts_[q] - 1)));
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  const double delay = std::max(exponential * jitter(rng_), retry_after_seconds(reply.retry_after));
  not_before_[q] = clock_.now() + delay;
  if (charge > 0) {
    source_.charge_and_retry(slice);
  } else {
    source_.release(slice);
  }
}

void Dispatcher::receive(const Done& done) {
  if (done.reply.failure == http::UpstreamFailure::kNone && done.reply.status == 200) {
    answer(done.slice, done.reply);
  } else {
    fail(done.slice, done.reply);
  }
}

// last_body: the query's last response when the caller has it parsed (null: parse the state's).
void Dispatcher::emit(std::size_t query, nlohmann::json last_body) {
  if (written_[query]) return;
  written_[query] = true;
  const QueryState& state = state_.queries()[query];
  const bool abandoned = state.status == QueryStatus::kClosed && state.rounds == 0;
  pending_lines_.push_back(
      output_line(queries_[query], query, state, abandoned, std::move(last_body)));
  pending_queries_.push_back(query);
  if (pending_lines_.size() >= options_.lines_per_flush ||
      clock_.now() - last_flush_ >= options_.flush_seconds) {
    flush();
  }
}

// The state first: every line written has its settlement committed (a crash between the two leaves
// a committed query without its line, which the next run writes).
void Dispatcher::flush() {
  state_.commit();
  out_.append(pending_lines_);
  pending_lines_.clear();
  for (const std::size_t q : pending_queries_) state_.forget_text(q);
  pending_queries_.clear();
  last_flush_ = clock_.now();
}

// After the run stopped (unreachable upstream): settle what returns, write nothing new.
void Dispatcher::settle_stopped(const Done& done) {
  if (done.reply.failure == http::UpstreamFailure::kNone && done.reply.status == 200) {
    answer(done.slice, done.reply);
  } else {
    state_.settle_failure(done.slice.query, failure_charge(done.reply, done.slice.cap));
  }
}

void Dispatcher::report(bool force) {
  if (!options_.on_progress) return;
  const double now = clock_.now();
  if (!force && now - last_report_ < options_.progress_seconds) return;
  last_report_ = now;
  const auto done = static_cast<std::size_t>(std::count(written_.begin(), written_.end(), true));
  options_.on_progress(
      {done, queries_.size(), state_.charged(), options_.budget, requests_, now - start_});
}

RunSummary Dispatcher::summary() const {
  RunSummary s;
  s.budget = options_.budget;
  s.spent = state_.charged();
  s.queries = queries_.size();
  for (const QueryState& q : state_.queries()) {
    s.requests += q.requests;
    if (q.status == QueryStatus::kFailed) {
      ++s.errors;
    } else if (q.rounds == 0) {
      ++s.abandoned;
    }
    if (q.rounds > 0) ++s.answered;
    if (q.status == QueryStatus::kFinished) ++s.finished;
    if (q.rounds > 0 && q.status != QueryStatus::kFinished && q.status != QueryStatus::kFailed) {
      ++s.truncated;
    }
  }
  s.requests_this_run = requests_;
  s.tokens_this_run = tokens_;
  s.seconds = clock_.now() - start_;
  return s;
}

RunSummary Dispatcher::run(const Transport& transport) {
  // Lines a previous run settled but did not write (killed between the state and the file).
  for (std::size_t q = 0; q < queries_.size(); ++q) {
    if (written_[q]) {
      state_.forget_text(q);
    } else if (state_.queries()[q].status != QueryStatus::kPending) {
      emit(q);
    }
  }
  std::vector<std::thread> workers;
  const std::size_t concurrency = std::max<std::size_t>(1, options_.concurrency);
  for (std::size_t w = 0; w < concurrency; ++w) {
    workers.emplace_back([&] {
      while (std::optional<Job> job = jobs_.pop()) {
        clock_.sleep_for(job->not_before - clock_.now());
        done_.push({job->slice, transport(job->path, std::move(job->body))});
      }
    });
  }
  // Group commit: every answer that has arrived is settled, the free slots are filled, and the
  // reservations are committed in one transaction before their requests go out. The busier the
  // dispatcher, the more answers wait for it and the fewer transactions per request.
  std::size_t in_flight = 0;
  std::vector<Job> outbox;
  while (!unreachable_) {
    while (in_flight + outbox.size() < concurrency) {
      const std::optional<core::Slice> slice = source_.next();
      if (!slice) break;
      outbox.push_back(prepare(*slice));
    }
    if (!outbox.empty()) {
      state_.commit();
      in_flight += outbox.size();
      for (Job& job : outbox) jobs_.push(std::move(job));
      outbox.clear();
    }
    if (in_flight == 0) break;
    std::deque<Done> arrived = done_.pop_all();
    in_flight -= arrived.size();
    for (const Done& done : arrived) {
      if (unreachable_) {
        settle_stopped(done);
      } else {
        receive(done);
      }
    }
    if (!pending_lines_.empty() && clock_.now() - last_flush_ >= options_.flush_seconds) flush();
    report(false);
  }
  jobs_.close();
  for (std::size_t i = 0; i < in_flight; ++i) settle_stopped(*done_.pop());
  for (std::thread& w : workers) w.join();
  if (unreachable_) {
    flush();
    throw UpstreamUnreachable("cannot reach the upstream: " + *unreachable_);
  }
  // The schedule is over: what was cut stays cut, what was never served is abandoned.
  for (std::size_t q = 0; q < queries_.size(); ++q) {
    if (written_[q]) continue;
    if (state_.queries()[q].status == QueryStatus::kPending)
      state_.set_status(q, QueryStatus::kClosed);
    emit(q);
  }
  flush();
  report(true);
  return summary();
}

}  // namespace

RunSummary execute(const std::vector<BatchQuery>& queries, SliceSource& source, RunState& state,
                   OutputFile& out, const Transport& transport, const RunClock& clock,
                   const ExecutorOptions& options) {
  Dispatcher dispatcher(queries, source, state, out, clock, options);
  return dispatcher.run(transport);
}

}  // namespace clearhouse::run
