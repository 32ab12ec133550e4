// The HTTP request fuzz target's logic, shared by the libFuzzer binary (http_request_fuzz.cpp,
// built with clang by scripts/fuzz.sh) and the corpus replay test
// (tests/http/fuzz_corpus_test.cpp).
//
// One input (arbitrary bytes, treated as what a client sends on a connection) goes through the
// server's own parser settings and checks (http/request_head.h: parse_request with small limits,
// so the limits are reached), and what parses goes on to the gateway's admission-time parsing of
// the same headers (Bearer token extraction). Expected outcome: a request, or a rejection with a
// 4xx status and a message. A finding is anything else: an exception, a broken invariant (thrown as
// HttpFuzzFinding), a crash or a sanitizer report. The invariants are listed in the .cpp.
//
// Thread-safety: none needed; the function keeps no state.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string_view>

namespace clearhouse::http {

class HttpFuzzFinding : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

struct HttpRequestOutcome {
  bool parsed = false;      // a whole request came out
  int rejected_status = 0;  // else the status the server would answer
};

[[nodiscard]] HttpRequestOutcome run_http_request_input(std::string_view bytes);

}  // namespace clearhouse::http
