// Replays the request parser's fuzz corpus (fuzz/corpus/request_parser/) through the fuzz target's
// own logic: every input the fuzzer kept, and every crash it once found, must parse or be rejected
// with HttpError 400 (checked inside run_request_parser_input), with no other exception, broken
// invariant or sanitizer report (CI runs this suite under ASan and UBSan).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/request_parser_target.h"

namespace clearhouse::openai {
namespace {

namespace fs = std::filesystem;

const fs::path kCorpus = fs::path(CLEARHOUSE_SOURCE_DIR) / "fuzz" / "corpus" / "request_parser";
// The seeds alone are more; a corpus that shrank below this was probably deleted by mistake.
constexpr std::size_t kMinCorpusFiles = 40;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<fs::path> corpus_files() {
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(kCorpus)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(FuzzCorpus, EveryRequestParserInputParsesOrIsRejectedCleanly) {
  const std::vector<fs::path> files = corpus_files();
  ASSERT_GE(files.size(), kMinCorpusFiles) << kCorpus;
  std::size_t chat = 0, completions = 0, rejected = 0, with_sse = 0, with_usage = 0;
  for (const fs::path& file : files) {
    try {
      const RequestParserOutcome outcome = run_request_parser_input(read_bytes(file));
      chat += outcome.chat;
      completions += outcome.completions;
      rejected += !outcome.chat && !outcome.completions;
      with_sse += outcome.sse_events > 0;
      with_usage += outcome.usage_reported;
    } catch (const std::exception& e) {
      ADD_FAILURE() << file.filename() << ": " << e.what();
    }
  }
  // The corpus exercises both endpoints' success paths, the rejections and the SSE parser; a corpus
  // of only junk (or only valid requests) would replay without testing much.
  EXPECT_GE(chat, 5u);
  EXPECT_GE(completions, 5u);
  EXPECT_GE(rejected, 10u);
  EXPECT_GE(with_sse, 1u);
  EXPECT_GE(with_usage, 3u);
}

TEST(FuzzCorpus, TargetAcceptsValidRequestsAndRejectsJunk) {
  const RequestParserOutcome chat = run_request_parser_input(
      R"({"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":16,"stream":true})");
  EXPECT_TRUE(chat.json_object);
  EXPECT_TRUE(chat.chat);
  EXPECT_FALSE(chat.completions);  // no prompt
  const RequestParserOutcome completion =
      run_request_parser_input(R"({"prompt":["once"],"max_completion_tokens":3,"best_of":2})");
  EXPECT_TRUE(completion.completions);
  EXPECT_FALSE(completion.chat);
  const RequestParserOutcome junk = run_request_parser_input("data: {}\n\n{");
  EXPECT_FALSE(junk.json_object);
  EXPECT_FALSE(junk.chat || junk.completions);
  EXPECT_EQ(junk.sse_events, 1u);
  EXPECT_FALSE(junk.usage_reported);
  // Upstream answers: usage the ledger must never take as a count goes through without a finding.
  EXPECT_TRUE(run_request_parser_input(R"({"choices":[],"usage":{"completion_tokens":1e18}})")
                  .usage_reported);
  EXPECT_TRUE(
      run_request_parser_input("data: {\"choices\":[],\"usage\":{\"completion_tokens\":-1}}\n\n")
          .usage_reported);
}

}  // namespace
}  // namespace clearhouse::openai
