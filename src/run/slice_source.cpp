#include "run/slice_source.h"

#include <algorithm>
#include <cassert>

namespace clearhouse::run {
namespace {

class ProgressiveSource final : public SliceSource {
 public:
  ProgressiveSource(std::vector<core::LengthPrior> priors, std::vector<std::int64_t> caps,
                    std::vector<std::int64_t> kept, std::int64_t budget, bool continuation)
      : scheduler_(std::move(priors), std::move(caps), budget, std::move(kept)),
        continuation_(continuation) {}

  std::optional<core::Slice> next() override { return scheduler_.next(); }
  void settle(const core::Slice& slice, std::int64_t tokens, bool finished) override {
    scheduler_.complete(slice, tokens, finished || !continuation_);
  }
  void release(const core::Slice& slice) override { scheduler_.cancel(slice); }
  // The scheduler then believes `cap` more tokens were generated: its view of the query's length
  // runs ahead of the text kept, which only lowers what it will still give the query.
  void charge_and_retry(const core::Slice& slice) override {
    scheduler_.complete(slice, slice.cap, false);
  }
  void drop(const core::Slice& slice, std::int64_t charge) override {
    scheduler_.complete(slice, charge, true);
  }
  bool continues() const override { return continuation_; }
  std::size_t in_flight() const override { return scheduler_.in_flight(); }
  std::int64_t spent() const override { return scheduler_.spent(); }

 private:
  core::ProgressiveScheduler scheduler_;
  bool continuation_;
};

class PlanSource final : public SliceSource {
 public:
  PlanSource(std::vector<std::int64_t> caps, std::int64_t budget)
      : caps_(std::move(caps)), budget_(budget) {
    for (std::size_t q = 0; q < caps_.size(); ++q) {
      if (caps_[q] > 0) pending_.push_back(q);
    }
  }

  std::optional<core::Slice> next() override {
    while (!pending_.empty()) {
      const std::size_t q = pending_.front();
      const std::int64_t unreserved = budget_ - spent_ - reserved_;
      if (caps_[q] > unreserved && in_flight_ > 0) return std::nullopt;  // wait for releases
      const std::int64_t cap = std::min(caps_[q], unreserved);
      pending_.pop_front();
      if (cap <= 0) continue;  // the budget is gone: abandoned
      reserved_ += cap;
      ++in_flight_;
      return core::Slice{q, 0, cap};
    }
    return std::nullopt;
  }
  void settle(const core::Slice& slice, std::int64_t tokens, bool) override {
    finish(slice, tokens);
  }
  void release(const core::Slice& slice) override {
    finish(slice, 0);
    pending_.push_front(slice.query);
  }
  void charge_and_retry(const core::Slice& slice) override {
    finish(slice, slice.cap);
    pending_.push_back(slice.query);
  }
  void drop(const core::Slice& slice, std::int64_t charge) override { finish(slice, charge); }
  bool continues() const override { return false; }
  std::size_t in_flight() const override { return in_flight_; }
  std::int64_t spent() const override { return spent_; }

 private:
  void finish(const core::Slice& slice, std::int64_t charge) {
    assert(in_flight_ > 0 && charge <= slice.cap);
    reserved_ -= slice.cap;
    spent_ += charge;
    --in_flight_;
  }
  std::vector<std::int64_t> caps_;
  std::deque<std::size_t> pending_;
  std::int64_t budget_ = 0;
  std::int64_t spent_ = 0;
  std::int64_t reserved_ = 0;
  std::size_t in_flight_ = 0;
};

}  // namespace

std::unique_ptr<SliceSource> progressive_source(std::vector<core::LengthPrior> priors,
                                                std::vector<std::int64_t> caps,
                                                std::vector<std::int64_t> kept, std::int64_t budget,
                                                bool continuation) {
  return std::make_unique<ProgressiveSource>(std::move(priors), std::move(caps), std::move(kept),
                                             budget, continuation);
}

std::unique_ptr<SliceSource> plan_source(std::vector<std::int64_t> caps, std::int64_t budget) {
  return std::make_unique<PlanSource>(std::move(caps), budget);
}

}  // namespace clearhouse::run
