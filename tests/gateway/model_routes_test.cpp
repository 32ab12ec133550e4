// Routing by model name (gateway/model_routes.h): models and aliases, several upstreams per name,
// exact matching.
#include "gateway/model_routes.h"

#include <gtest/gtest.h>

#include <vector>

namespace clearhouse::gateway {
namespace {

UpstreamConfig upstream(std::string name, std::string model, std::vector<std::string> aliases) {
  UpstreamConfig u;
  u.name = std::move(name);
  u.base_url = "http://127.0.0.1:1";
  u.model = std::move(model);
  u.aliases = std::move(aliases);
  return u;
}

using Indices = std::vector<std::size_t>;

TEST(ModelRoutes, ModelsAndAliasesFindTheirUpstreams) {
  const ModelRoutes routes({upstream("vllm", "Qwen2-7B-Instruct", {"qwen2", "default"}),
                            upstream("openai", "gpt-4o-mini", {}),
                            upstream("vllm-b", "Qwen2-7B-Instruct", {})});
  ASSERT_NE(routes.find("Qwen2-7B-Instruct"), nullptr);
  EXPECT_EQ(*routes.find("Qwen2-7B-Instruct"), (Indices{0, 2}));
  EXPECT_EQ(*routes.find("qwen2"), (Indices{0}));
  EXPECT_EQ(*routes.find("default"), (Indices{0}));
  EXPECT_EQ(*routes.find("gpt-4o-mini"), (Indices{1}));
  // Exact, case-sensitive matching: nothing else is routed anywhere.
  EXPECT_EQ(routes.find("gpt-4o"), nullptr);
  EXPECT_EQ(routes.find("qwen2-7b-instruct"), nullptr);
  EXPECT_EQ(routes.find(""), nullptr);
  // Each name once, models first, then aliases, in config order.
  std::vector<std::string> names;
  for (const ModelName& m : routes.names()) names.push_back(m.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"Qwen2-7B-Instruct", "gpt-4o-mini", "qwen2", "default"}));
}

TEST(ModelRoutes, AnAliasMayBeAnotherUpstreamsModel) {
  const ModelRoutes routes(
      {upstream("a", "small", {"large"}), upstream("b", "large", {"small", "both"})});
  EXPECT_EQ(*routes.find("small"), (Indices{0, 1}));
  EXPECT_EQ(*routes.find("large"), (Indices{0, 1}));
  EXPECT_EQ(*routes.find("both"), (Indices{1}));
  EXPECT_EQ(routes.names().size(), 3u);
}

}  // namespace
}  // namespace clearhouse::gateway
