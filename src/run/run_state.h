// The resumable state of `clearhouse run`, in a SQLite file (--state; default <out>.state).
//
// Per query (by its index in the input): status, tokens generated and the text so far, rounds
// (requests that returned), tokens charged, the cap reserved by a request in flight, requests sent,
// the last response body and the error. Meta: the fingerprint of the input and options, and the
// budget.
//
// Group commit. Changes are made in memory and written by commit(), all of them in one transaction
// (WAL, synchronous = NORMAL: durable against a kill of the process, not against power loss). What
// was not committed is lost, as in a crash; the destructor does not commit. The caller commits at
// the points the guarantees below need: before sending a request it reserved, and before writing a
// query's output line.
//
// The budget across restarts: a reservation is committed before its request is sent, and the
// answer's settlement replaces it by the tokens charged. A reservation still open at open() belongs
// to a request whose settlement was never committed (in flight when the process died, or answered
// after the last commit): its tokens may have been generated and are lost, so the whole reservation
// is charged (the text of that request is not kept). Hence charged() never undercounts what the
// upstream generated for requests this state sent.
//
// The file is opened in SQLite's exclusive locking mode: a second process on the same state fails
// ("database is locked") instead of spending the same budget twice.
//
// Units: tokens. I/O: SQLite. Thread-safety: none (the executor's dispatcher owns it).
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace clearhouse::run {

class RunStateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class QueryStatus {
  kPending,   // not finished; may be served (again)
  kFinished,  // the answer ended (finish_reason other than "length")
  kClosed,    // cut and not to be continued (one-shot cap, or --continuation none)
  kFailed,    // gave up after the last retry
};
[[nodiscard]] std::string_view to_string(QueryStatus status);

struct QueryState {
  QueryStatus status = QueryStatus::kPending;
  std::int64_t generated = 0;  // tokens of `text`
  std::string text;            // generated so far (kept across continuations)
  int rounds = 0;              // requests that returned an answer
  std::int64_t charged = 0;    // tokens charged to the budget (>= generated)
  std::int64_t cap = 0;        // sum of the caps of the requests that returned
  std::int64_t requests = 0;   // requests sent, retries included
  std::string last_body;       // the last successful response body ("" = none)
  std::string error;           // kFailed: what went wrong
};

class RunState {
 public:
  // Opens or creates path for `queries` queries. A file written for another fingerprint is refused
  // with RunStateError saying so; an open reservation is charged (see above).
  RunState(const std::string& path, const std::string& fingerprint, std::int64_t budget,
           std::size_t queries);
  ~RunState();
  RunState(const RunState&) = delete;
  RunState& operator=(const RunState&) = delete;

  [[nodiscard]] const std::vector<QueryState>& queries() const { return queries_; }
  [[nodiscard]] std::int64_t charged() const { return charged_; }  // over all queries
  // true when the file already held state (a resumed run).
  [[nodiscard]] bool resumed() const { return resumed_; }

  // Each of these changes the state in memory only; commit() writes them.
  void reserve(std::size_t query, std::int64_t cap);
  // The request of `query` returned: `tokens` of `text_added` were generated.
  void settle_answer(std::size_t query, std::int64_t cap, std::int64_t tokens,
                     const std::string& text_added, const std::string& body, QueryStatus status);
  // The request failed: `charge` tokens (0 for a refusal, the cap when it may have generated).
  void settle_failure(std::size_t query, std::int64_t charge);
  void set_status(std::size_t query, QueryStatus status, const std::string& error = {});

  // Writes every change since the last commit in one transaction. Throws RunStateError.
  void commit();
  // Frees the in-memory text and last body of a query whose changes are committed and that will not
  // change again (its output line is written): a long batch then holds only the texts of the
  // queries in progress. Its `text` and `last_body` read "" afterwards.
  void forget_text(std::size_t query);

 private:
  void mark(std::size_t query, bool text);
  void write(std::size_t query);
  struct Db;
  std::unique_ptr<Db> db_;
  std::vector<QueryState> queries_;
  std::vector<std::int64_t> reserved_;
  // Per query: 0 = clean, kRowDirty, kRowDirty | kTextDirty.
  std::vector<std::uint8_t> dirty_;
  std::vector<std::size_t> dirty_list_;
  std::int64_t charged_ = 0;
  bool resumed_ = false;
};

}  // namespace clearhouse::run
