// Replays the HTTP request fuzz corpus (fuzz/corpus/http_request/) through the fuzz target's own
// logic (fuzz/http_request_target.h): every input the fuzzer kept must parse or be rejected with a
// 4xx, with no exception, broken invariant or sanitizer report (CI runs this suite under ASan and
// UBSan). And the parse of a few known requests, so the target itself is tested.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/http_request_target.h"
#include "http/request_head.h"

namespace clearhouse::http {
namespace {

namespace fs = std::filesystem;

const fs::path kCorpus = fs::path(CLEARHOUSE_SOURCE_DIR) / "fuzz" / "corpus" / "http_request";

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(HttpFuzzCorpus, EveryInputParsesOrIsRejectedWithAClientError) {
  std::size_t parsed = 0, rejected = 0, files = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(kCorpus)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    try {
      const HttpRequestOutcome outcome = run_http_request_input(read_bytes(entry.path()));
      parsed += outcome.parsed;
      rejected += outcome.rejected_status != 0;
    } catch (const std::exception& e) {
      ADD_FAILURE() << entry.path().filename() << ": " << e.what();
    }
  }
  EXPECT_GE(files, 12u) << kCorpus;
  EXPECT_GE(parsed, 3u);
  EXPECT_GE(rejected, 4u);
}

TEST(ParseRequest, ParsesAChunkedPostWithItsBodyAndPathWithoutQuery) {
  const auto r = parse_request(
      "POST /v1/x?y=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      {});
  ASSERT_TRUE(std::holds_alternative<HttpRequest>(r));
  const auto& request = std::get<HttpRequest>(r);
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/v1/x");
  EXPECT_EQ(request.body, "abc");
}

TEST(ParseRequest, AnswersEachLimitWithItsStatus) {
  const RequestLimits small{
      .max_header_bytes = 256, .max_header_count = 4, .max_url_bytes = 16, .max_body_bytes = 8};
  const auto status = [&](const std::string& bytes) {
    const auto r = parse_request(bytes, small);
    return std::holds_alternative<Rejection>(r) ? std::get<Rejection>(r).status : 200;
  };
  EXPECT_EQ(status("GET /" + std::string(40, 'a') + " HTTP/1.1\r\n\r\n"), 414);
  EXPECT_EQ(status("GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\n\r\n"), 431);
  EXPECT_EQ(status("GET / HTTP/1.1\r\nA: " + std::string(400, 'a') + "\r\n\r\n"), 431);
  EXPECT_EQ(status("POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n123456789"), 413);
  EXPECT_EQ(
      status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n123456789\r\n0\r\n\r\n"),
      413);
  EXPECT_EQ(status("NOT HTTP\r\n\r\n"), 400);
  EXPECT_EQ(status("GET / HTTP/1.1\r\n"), 400);  // incomplete
  EXPECT_EQ(status("GET / HTTP/1.1\r\n\r\n"), 200);
}

}  // namespace
}  // namespace clearhouse::http
