// eventually(predicate): the one way tests wait for something another thread or process does. It
// polls the predicate until it holds (true) or the timeout passes (false). The timeout only bounds
// a failing test; it is not a timing assertion, so it is generous (sanitizer builds are slow), and
// the short pause between polls only spaces them out: the outcome is decided by the predicate,
// never by the pause.
#pragma once

#include <chrono>
#include <thread>

namespace clearhouse::testing {

template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace clearhouse::testing
