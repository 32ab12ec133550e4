// The output file: whole lines only; a torn last line (a crash mid-write) is removed on open.

#include "run/output_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/run_binary.h"

namespace clearhouse::run {
namespace {

using clearhouse::testing::scratch_dir;
using clearhouse::testing::slurp;

TEST(OutputFile, AppendsWholeLinesAndRemembersTheirIds) {
  const auto path = (scratch_dir() / "out.jsonl").string();
  {
    OutputFile out(path);
    EXPECT_TRUE(out.existing_ids().empty());
    out.append({R"({"custom_id":"a"})", R"({"custom_id":"b"})"});
  }
  EXPECT_EQ(slurp(path), "{\"custom_id\":\"a\"}\n{\"custom_id\":\"b\"}\n");
  OutputFile again(path);
  EXPECT_EQ(again.existing_ids().size(), 2u);
  EXPECT_TRUE(again.existing_ids().contains("b"));
  EXPECT_EQ(again.truncated_bytes(), 0u);
}

TEST(OutputFile, TruncatesATornLastLineBeforeAppending) {
  const auto path = (scratch_dir() / "out.jsonl").string();
  {
    std::ofstream torn(path);
    torn << "{\"custom_id\":\"a\"}\n{\"custom_id\":\"b\",\"resp";
  }
  OutputFile out(path);
  EXPECT_EQ(out.truncated_bytes(), std::string("{\"custom_id\":\"b\",\"resp").size());
  EXPECT_EQ(out.existing_ids().size(), 1u);
  out.append({R"({"custom_id":"b"})"});
  EXPECT_EQ(slurp(path), "{\"custom_id\":\"a\"}\n{\"custom_id\":\"b\"}\n");
}

TEST(OutputFile, UnwritableDirectoryIsAClearError) {
  EXPECT_THROW(OutputFile("/nonexistent-dir/out.jsonl"), OutputFileError);
}

}  // namespace
}  // namespace clearhouse::run
