#include "eval/replay.h"

#include <algorithm>
#include <cassert>

namespace clearhouse::eval {

ReplayOutcome replay(std::span<const ReplayItem> items, std::span<const std::int64_t> caps) {
  assert(items.size() == caps.size());
  ReplayOutcome out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto cap = static_cast<double>(caps[i]);
    out.allocated += caps[i];
    if (caps[i] == 0) {
      ++out.abandoned;
      continue;
    }
    ++out.requests;
    out.consumed += std::min(cap, items[i].true_tokens);
    if (items[i].correct && items[i].true_tokens <= cap) ++out.solved;
  }
  return out;
}

}  // namespace clearhouse::eval
