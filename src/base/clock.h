// Clock: the one source of time for everything that reads it (the ledger's budget windows, the
// gateway's request durations, the HTTP client's deadlines). Nothing reads std::chrono's clocks
// itself: it is given a Clock, so tests drive time with ManualClock (simulated, no sleeps) and the
// binaries pass SystemClock.
//
// Units: now_ms() is calendar time, milliseconds since the Unix epoch; budget windows are fixed,
// aligned to the epoch: window k covers [k * window_seconds * 1000, (k + 1) * window_seconds *
// 1000). monotonic_ns() is nanoseconds on a clock that never goes back, for durations and deadlines
// (its zero means nothing).
//
// Thread-safety: both may be called from any thread; ManualClock's setters are atomic.
//
// Example:
//   ManualClock clock(1'700'000'000'000);
//   auto ledger = Ledger::open(path, clock);
//   clock.advance_ms(60'000);  // the next minute's window
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace clearhouse::base {

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual std::int64_t now_ms() const = 0;
  [[nodiscard]] virtual std::int64_t monotonic_ns() const = 0;
};

// Real time: std::chrono::system_clock for now_ms(), steady_clock for monotonic_ns().
class SystemClock final : public Clock {
 public:
  [[nodiscard]] std::int64_t now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  [[nodiscard]] std::int64_t monotonic_ns() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

// Simulated time for tests and replays: stands still until told to move. Its monotonic time is
// its calendar time in nanoseconds (set_ms backwards is for tests of a clock that jumps back).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t start_ms = 0) : now_(start_ms) {}
  [[nodiscard]] std::int64_t now_ms() const override { return now_.load(); }
  [[nodiscard]] std::int64_t monotonic_ns() const override { return now_.load() * 1'000'000; }
  void set_ms(std::int64_t ms) { now_.store(ms); }
  void advance_ms(std::int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<std::int64_t> now_;
};

// The process's real clock, for components whose callers pass none.
[[nodiscard]] inline const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace clearhouse::base
