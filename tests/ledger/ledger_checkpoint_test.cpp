// The background checkpointer really copies the WAL back into the database file while the ledger is
// being written (it once ran its checkpoints on a connection that had never opened the WAL, where
// SQLite makes them no-ops: the WAL grew by ~30 KB per request for ever). Whether the WAL is then
// reused from its start depends on a checkpoint catching up with the writer, which a writer that
// never pauses (this test) does not allow: that is not asserted.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "ledger/checkpointer.h"
#include "ledger/ledger.h"
#include "ledger/ledger_test_util.h"

namespace clearhouse::ledger {
namespace {

TEST(LedgerCheckpointTest, CommitsReachTheDatabaseFileWhileWriting) {
  const std::string path = testing::ledger_path();
  base::ManualClock clock(testing::kT0);
  Ledger ledger = Ledger::open(path, clock);
  const auto initial = std::filesystem::file_size(path);
  // Writes reach SQLite in batches (journal.h); find() applies the batch at once, so every 25
  // pairs commit a few WAL pages: kCheckpointPages pages are crossed well before the limit, and the
  // writes keep going until the checkpoint thread's copy shows in the database file.
  constexpr int kMaxPairs = 10 * kCheckpointPages;
  int pairs = 0;
  for (; pairs < kMaxPairs && std::filesystem::file_size(path) == initial; ++pairs) {
    const std::string id = "r" + std::to_string(pairs);
    ASSERT_EQ(ledger.reserve(id, "k", "u", 10).status, ReserveStatus::kReserved);
    ASSERT_EQ(ledger.settle(id, 5, 0.0).status, CloseStatus::kClosed);
    if (pairs % 25 == 0) {
      ASSERT_TRUE(ledger.find(id).has_value());
    }
  }
  EXPECT_LT(pairs, kMaxPairs) << "the database file never grew: no checkpoint copied anything";
}

}  // namespace
}  // namespace clearhouse::ledger
