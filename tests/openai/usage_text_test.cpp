// reported_usage_in (openai/usage.h): the usage of a whole answer read from its text without a
// DOM must be exactly what the DOM rules read, on real answers and on seeded random documents
// full of the shapes a hostile upstream could send (bad counts, nulls, repeated keys, nesting).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "openai/usage.h"

namespace clearhouse::openai {
namespace {

using nlohmann::json;

ReportedUsage dom(const std::string& text) {
  return reported_usage(json::parse(text));
}

TEST(ReportedUsageInText, RealAnswersReadAsTheirDom) {
  const std::vector<std::string> answers = {
      // OpenAI chat, with reasoning details
      R"({"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":)"
      R"({"role":"assistant","content":"4"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,)"
      R"("completion_tokens":140,"total_tokens":149,"completion_tokens_details":)"
      R"({"reasoning_tokens":128,"accepted_prediction_tokens":0}}})",
      // a Responses object
      R"({"id":"resp_1","object":"response","status":"completed","output":[{"type":"message",)"
      R"("content":[{"type":"output_text","text":"hi \"there\" {["}]}],"usage":{"input_tokens":5,)"
      R"("output_tokens":30,"output_tokens_details":{"reasoning_tokens":12},"total_tokens":35}})",
      // llama.cpp, usage before the choices; an answer without usage; usage: null
      R"({"usage":{"completion_tokens":16,"prompt_tokens":10},"choices":[{"text":"x"}]})",
      R"({"choices":[{"message":{"content":"no usage here"}}]})",
      R"({"usage":null,"choices":[]})",
  };
  for (const std::string& text : answers) {
    EXPECT_EQ(reported_usage_in(text), dom(text)) << text;
  }
  EXPECT_EQ(reported_usage_in(answers[0]), ReportedUsage::of(140, 128));
  EXPECT_EQ(reported_usage_in(answers[1]), ReportedUsage::of(30, 12));
  EXPECT_EQ(reported_usage_in(answers[2]), ReportedUsage::of(16));
}

TEST(ReportedUsageInText, ACountBeyondADoubleIsImplausible) {
  // Valid JSON that nlohmann refuses to parse: the DOM path would read no usage at all.
  EXPECT_EQ(reported_usage_in(R"({"usage": {"completion_tokens": 1e400}})").problem(),
            "completion_tokens is more than any request generates");
  EXPECT_EQ(reported_usage_in(R"({"usage": {"completion_tokens": -1e400}})").problem(),
            "completion_tokens is negative");
}

TEST(ReportedUsageInText, TextThatIsNoJsonObjectReportsNothing) {
  for (const char* text : {"", "not json", "[1, 2]", "42", "null", R"({"usage": {"completion)",
                           R"({"usage": {"completion_tokens": 5})"}) {
    EXPECT_TRUE(reported_usage_in(text).absent()) << text;
  }
}

// Seeded random documents: a top-level object of filler members and zero to two "usage" members,
// each a null, a non-object, or an object of count members (tricky literals), details objects
// and filler, in random order with repeats.
class UsageDocuments {
 public:
  explicit UsageDocuments(std::uint32_t seed) : rng_(seed) {}

  std::string document() {
    std::vector<std::string> members;
    for (int i = pick(4); i > 0; --i) members.push_back(R"("filler": )" + filler());
    for (int i = pick(3); i > 0; --i) members.push_back(R"("usage": )" + usage());
    std::shuffle(members.begin(), members.end(), rng_);
    return "{" + join(members) + "}";
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  template <typename T>
  const T& one_of(const std::vector<T>& options) {
    return options[static_cast<std::size_t>(pick(static_cast<int>(options.size())))];
  }

  static std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
    return out;
  }

  std::string count() {
    static const std::vector<std::string> literals = {"0",
                                                      "1",
                                                      "16",
                                                      "512",
                                                      "512.0",
                                                      "-0",
                                                      "-0.0",
                                                      "-1",
                                                      "12.5",
                                                      "1e3",
                                                      "1E-2",
                                                      "1e18",
                                                      "1e300",
                                                      "-1e300",
                                                      "1e400",
                                                      "-1e400",
                                                      "1099511627776",
                                                      "1099511627777",
                                                      "9223372036854775807",
                                                      "9223372036854775808",
                                                      "18446744073709551615",
                                                      "18446744073709551616",
                                                      "-9223372036854775809",
                                                      "99999999999999999999999",
                                                      "null",
                                                      "true",
                                                      "\"12\"",
                                                      "[12]",
                                                      "{}"};
    return one_of(literals);
  }

  std::string filler() {
    static const std::vector<std::string> values = {"1",
                                                    "\"text with } and ] and \\\" inside\"",
                                                    "[1, {\"usage\": 5}, [[]]]",
                                                    R"({"usage": {"completion_tokens": 999}})",
                                                    "null",
                                                    "false",
                                                    "-2.5e-3",
                                                    "\"\\u00e9\""};
    return one_of(values);
  }

  std::string details() {
    if (pick(4) == 0) return one_of(std::vector<std::string>{"null", "3", "[]", "\"x\""});
    std::vector<std::string> members;
    for (int i = pick(3); i > 0; --i) members.push_back(R"("reasoning_tokens": )" + count());
    if (pick(2) == 0) members.push_back(R"("accepted_prediction_tokens": 0)");
    std::shuffle(members.begin(), members.end(), rng_);
    return "{" + join(members) + "}";
  }

  std::string usage() {
    switch (pick(6)) {
      case 0: return "null";
      case 1: return one_of(std::vector<std::string>{"\"lots\"", "7", "[]", "true"});
      default: break;
    }
    static const std::vector<std::string> keys = {
        "completion_tokens",         "output_tokens",         "prompt_tokens",
        "completion_tokens_details", "output_tokens_details", "total_tokens"};
    std::vector<std::string> members;
    for (int i = pick(6); i > 0; --i) {
      const std::string& key = one_of(keys);
      const bool is_details = key.find("details") != std::string::npos;
      members.push_back("\"" + key + "\": " + (is_details ? details() : count()));
    }
    return "{" + join(members) + "}";
  }

  std::mt19937 rng_;
};

TEST(ReportedUsageInText, RandomDocumentsReadAsTheirDom) {
  UsageDocuments documents(20261203);
  int counted = 0, implausible = 0, absent = 0;
  for (int i = 0; i < 5000; ++i) {
    const std::string text = documents.document();
    const ReportedUsage lazy = reported_usage_in(text);
    if (!json::accept(text)) {
      // nlohmann refuses numbers beyond a double (1e400), valid JSON all the same: the DOM reads
      // no usage; the text reader reads the usage (such a count as implausible, as the test
      // above shows).
      EXPECT_EQ(lazy.implausible(), !lazy.problem().empty()) << text;
      continue;
    }
    ASSERT_EQ(lazy, dom(text)) << text << "\nlazy: " << lazy.problem()
                               << "\nDOM: " << dom(text).problem();
    counted += lazy.tokens().has_value();
    implausible += lazy.implausible();
    absent += lazy.absent();
  }
  // The documents reach every outcome, so the comparison covers each.
  EXPECT_GT(counted, 100);
  EXPECT_GT(implausible, 100);
  EXPECT_GT(absent, 100);
}

}  // namespace
}  // namespace clearhouse::openai
