// The background checkpointer really copies the WAL back into the database file while the ledger is
// being written (it once ran its checkpoints on a connection that had never opened the WAL, where
// SQLite makes them no-ops: the WAL grew by ~30 KB per request for ever).
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "gateway/ledger.h"
#include "gateway/ledger_checkpointer.h"
#include "ledger_test_util.h"

namespace clearhouse::gateway {
namespace {

TEST(LedgerCheckpointTest, CommitsReachTheDatabaseFileWhileWriting) {
  const std::string path = testing::ledger_path();
  ManualClock clock(testing::kT0);
  Ledger ledger = Ledger::open(path, clock);
  const auto initial = std::filesystem::file_size(path);
  // Each pair writes a few WAL pages: kCheckpointPages pages are crossed well before the limit,
  // and the writes keep going until the checkpoint thread's copy shows in the database file.
  constexpr int kMaxPairs = 50 * kCheckpointPages;
  int pairs = 0;
  for (; pairs < kMaxPairs && std::filesystem::file_size(path) == initial; ++pairs) {
    const std::string id = "r" + std::to_string(pairs);
    ASSERT_EQ(ledger.reserve(id, "k", "u", 10).status, ReserveStatus::kReserved);
    ASSERT_EQ(ledger.settle(id, 5, 0.0).status, CloseStatus::kClosed);
  }
  EXPECT_LT(pairs, kMaxPairs) << "the database file never grew: no checkpoint copied anything";
  // The WAL is reused from its start after a complete checkpoint, so it stays far below what
  // kMaxPairs pairs would write into it.
  for (int i = 0; i < 4 * kCheckpointPages; ++i) {
    const std::string id = "s" + std::to_string(i);
    ASSERT_EQ(ledger.reserve(id, "k", "u", 10).status, ReserveStatus::kReserved);
    ASSERT_EQ(ledger.settle(id, 5, 0.0).status, CloseStatus::kClosed);
  }
  EXPECT_LT(std::filesystem::file_size(path + "-wal"), std::uintmax_t{64} << 20);
}

}  // namespace
}  // namespace clearhouse::gateway
