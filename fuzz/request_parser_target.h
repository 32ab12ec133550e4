// The request-parsing fuzz target's logic, shared by the libFuzzer binary (request_parser_fuzz.cpp,
// built with clang by scripts/fuzz.sh) and the corpus replay test
// (tests/openai/fuzz_corpus_test.cpp, built in the normal g++ test suite), so every input the
// fuzzer kept runs on every test run.
//
// One input (arbitrary bytes, treated as a request body) goes through everything a client controls
// before the gateway decides on a request: parse_json_body, parse_completion_request for both
// endpoints, upstream_body for what parsed, and SseParser (the same bytes as an upstream's stream,
// fed whole and in pieces); and, as an upstream's answer, the usage parsers the ledger settles from
// (completion_usage for a whole response, StreamRelay for a stream). Expected outcome: each step
// succeeds or throws HttpError 400. A finding is anything else: another exception escaping, a
// broken invariant (thrown as FuzzFinding), or a crash or sanitizer report. The invariants checked
// are listed in request_parser_target.cpp.
//
// Thread-safety: none needed; the function keeps no state.
//
//   const RequestParserOutcome outcome = run_request_parser_input(bytes);  // may throw FuzzFinding
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string_view>

namespace clearhouse::openai {

// An invariant of the parsers that an input broke: a bug in the gateway, not a bad request.
class FuzzFinding : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

struct RequestParserOutcome {
  bool json_object = false;    // http::parse_json_body accepted the bytes
  bool chat = false;           // openai::parse_completion_request(kChat) accepted them
  bool completions = false;    // openai::parse_completion_request(kCompletions) accepted them
  std::size_t sse_events = 0;  // complete SSE events in the bytes
  bool usage_reported =
      false;  // as an upstream's answer, the bytes report usage (even implausible)
};

[[nodiscard]] RequestParserOutcome run_request_parser_input(std::string_view bytes);

}  // namespace clearhouse::openai
