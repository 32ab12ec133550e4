// libFuzzer entry point for the server's HTTP request parsing (see http_request_target.h). Any
// exception escapes on purpose so libFuzzer reports it as a crash and saves the input. Build and
// run with `TARGET=http_request scripts/fuzz.sh`; docs/fuzzing.md.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/http_request_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)clearhouse::http::run_http_request_input(bytes);
  return 0;
}
