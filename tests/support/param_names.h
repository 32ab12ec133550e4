// Readable names for parametrized tests: ctest and --gtest_filter show "Suite/Case.Test/<name>"
// instead of the parameter's bytes. A parameter struct with a `name` member (letters, digits and
// underscores; unique within the suite) is named after it:
//
//   INSTANTIATE_TEST_SUITE_P(Cases, BadInputTest, ::testing::Values(...), NamedAfterMember{});
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace clearhouse::testing {

struct NamedAfterMember {
  template <typename Param>
  std::string operator()(const ::testing::TestParamInfo<Param>& param) const {
    return std::string(param.param.name);
  }
};

}  // namespace clearhouse::testing
