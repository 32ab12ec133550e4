// Fault injection for the replay upstream, so a gateway's tests can exercise its failure paths.
//
// A spec is a list of items separated by ',' ';' or '|', e.g. "status=500", "delay-ms=2000",
// "close-after=3", "delay-ms=50,close-after=0", "no-usage":
//
//   status=CODE     answer with this HTTP status (400..599) and an OpenAI error body, nothing else
//   delay-ms=D      wait D milliseconds before answering (simulates a slow upstream or a timeout)
//   close-after=N   drop the connection after N content chunks of a stream (no [DONE], no usage);
//                   a non-streaming answer sends its headers and drops the connection before the
//                   body
//   no-usage        leave out usage (the body's "usage" field, the include_usage chunk), as some
//                   servers do
//
// It comes from the request header `x-replay-fault`, from the body field `metadata.replay_fault`,
// or from the server's --fault option (used when a request names none). The delay applies before
// the status, so "delay-ms=100,status=503" is a slow failure.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace clearhouse::tools {

struct FaultSpec {
  std::optional<int> status;
  std::chrono::milliseconds delay{0};
  std::optional<std::int64_t> close_after;
  bool no_usage = false;

  [[nodiscard]] bool empty() const {
    return !status && delay.count() == 0 && !close_after && !no_usage;
  }
};

// Throws std::invalid_argument naming the bad item. An empty or all-blank spec is no fault.
FaultSpec parse_fault_spec(std::string_view spec);

// The canonical text of a spec (parse_fault_spec(to_string(f)) == f).
std::string to_string(const FaultSpec& fault);

}  // namespace clearhouse::tools
