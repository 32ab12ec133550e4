#include "gateway/model_routes.h"

#include <algorithm>

namespace clearhouse::gateway {

ModelRoutes::ModelRoutes(const std::vector<UpstreamConfig>& upstreams) {
  const auto add = [this](const std::string& name, std::size_t upstream) {
    const auto [it, inserted] = index_.emplace(name, names_.size());
    if (inserted) names_.push_back({name, {}});
    names_[it->second].upstreams.push_back(upstream);
  };
  for (std::size_t k = 0; k < upstreams.size(); ++k) add(upstreams[k].model, k);
  for (std::size_t k = 0; k < upstreams.size(); ++k) {
    for (const std::string& alias : upstreams[k].aliases) add(alias, k);
  }
  // One upstream's alias may be an earlier upstream's model: ascending order, each index once.
  for (ModelName& entry : names_) {
    std::sort(entry.upstreams.begin(), entry.upstreams.end());
    entry.upstreams.erase(std::unique(entry.upstreams.begin(), entry.upstreams.end()),
                          entry.upstreams.end());
  }
}

const std::vector<std::size_t>* ModelRoutes::find(std::string_view model) const {
  const auto it = index_.find(model);
  return it == index_.end() ? nullptr : &names_[it->second].upstreams;
}

}  // namespace clearhouse::gateway
