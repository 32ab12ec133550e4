// The ledger's only source of time. The ledger never reads the wall clock itself: it asks a Clock, so
// tests drive windows with ManualClock (simulated time, no sleeps) and the gateway passes SystemClock.
//
// Units: milliseconds since the Unix epoch. Budget windows are fixed, aligned to the epoch:
// window k covers [k * window_seconds * 1000, (k + 1) * window_seconds * 1000).
//
// Thread-safety: now_ms() may be called from any thread; ManualClock's setters are atomic.
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
};

// Wall-clock time (std::chrono::system_clock).
class SystemClock final : public Clock {
 public:
  [[nodiscard]] std::int64_t now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// Simulated time for tests and replays: stands still until told to move.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t start_ms = 0) : now_(start_ms) {}
  [[nodiscard]] std::int64_t now_ms() const override { return now_.load(); }
  void set_ms(std::int64_t ms) { now_.store(ms); }
  void advance_ms(std::int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace clearhouse::base
