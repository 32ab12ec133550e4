// libFuzzer entry point for the gateway's request parsing (see request_parser_target.h). HttpError
// is handled inside the target; any other exception escapes on purpose so libFuzzer reports it as a
// crash and saves the input. Build and run with scripts/fuzz.sh; docs/fuzzing.md.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/request_parser_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)clearhouse::openai::run_request_parser_input(bytes);
  return 0;
}
