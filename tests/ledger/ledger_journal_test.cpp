// The ledger's journal: records round-trip byte for byte; a record cut short at the end of a file
// (a crash during the write) is ignored and a damaged record before others is an error; a ledger
// that opens applies what a crash left in the journal exactly once, and a clean close leaves it
// empty.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>

#include "ledger/error.h"
#include "ledger/journal.h"
#include "ledger/ledger.h"
#include "ledger/ledger_test_util.h"
#include "ledger/request_id.h"

namespace clearhouse::ledger {
namespace {

using testing::kT0;

JournalRecord reserve_record(std::uint64_t seq, std::string id, std::int64_t tokens) {
  JournalRecord r;
  r.kind = JournalRecord::Kind::kReserve;
  r.seq = seq;
  r.request_id = std::move(id);
  r.key_id = "key-a";
  r.upstream = "vllm";
  r.reserved_tokens = tokens;
  r.window_start_ms = 0;
  r.at_ms = kT0;
  return r;
}

JournalRecord settle_record(std::uint64_t seq, std::string id, std::int64_t reserved,
                            std::int64_t used) {
  JournalRecord r;
  r.kind = JournalRecord::Kind::kSettle;
  r.seq = seq;
  r.request_id = std::move(id);
  r.key_id = "key-a";
  r.reserved_tokens = reserved;
  r.window_start_ms = 0;
  r.at_ms = kT0 + 5;
  r.used_tokens = used;
  r.payment_usd = 0.25;
  return r;
}

std::string encode(const std::vector<JournalRecord>& records) {
  std::string out;
  for (const JournalRecord& r : records) encode_journal_record(r, out);
  return out;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(LedgerJournal, RecordsRoundTripIncludingAnyBytesInStrings) {
  JournalRecord odd = reserve_record(7, std::string("id\0with\nbytes", 13), 512);
  odd.key_id = std::string(256, '\xff');
  JournalRecord release = settle_record(9, "b", 40, 0);
  release.kind = JournalRecord::Kind::kRelease;
  release.payment_usd = 0.0;
  const std::vector<JournalRecord> records = {odd, settle_record(8, "a", 100, 37), release};
  const JournalContents back = decode_journal(encode(records), "j");
  EXPECT_EQ(back.records, records);
  EXPECT_EQ(back.torn_tail_bytes, 0u);
}

std::uint64_t fnv1a(std::string_view bytes) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

// A record as builds before ledger schema 3 wrote it: the payload ends after the three strings.
std::string encode_without_reasoning(const JournalRecord& r) {
  std::string whole;
  encode_journal_record(r, whole);
  const std::string payload = whole.substr(12, whole.size() - 12 - 8);
  std::string out;
  const auto size = static_cast<std::uint32_t>(payload.size());
  const std::uint64_t sum = fnv1a(payload);
  out.append(reinterpret_cast<const char*>(&size), sizeof size);
  out.append(reinterpret_cast<const char*>(&sum), sizeof sum);
  return out + payload;
}

TEST(LedgerJournal, ReasoningTokensRoundTripAndOldRecordsReadAsZero) {
  JournalRecord settle = settle_record(2, "a", 100, 37);
  settle.reasoning_tokens = 30;
  const JournalContents back = decode_journal(encode({settle}), "j");
  ASSERT_EQ(back.records.size(), 1u);
  EXPECT_EQ(back.records[0].reasoning_tokens, 30);

  const std::string old = encode_without_reasoning(reserve_record(1, "a", 100)) +
                          encode_without_reasoning(settle_record(2, "a", 100, 37));
  const JournalContents read = decode_journal(old, "j");
  ASSERT_EQ(read.records.size(), 2u);
  EXPECT_EQ(read.torn_tail_bytes, 0u);
  EXPECT_EQ(read.records[1].used_tokens, 37);
  EXPECT_EQ(read.records[1].reasoning_tokens, 0);
}

// A journal an older gateway left after a crash is applied by this one.
TEST(LedgerJournal, AJournalOfAnOlderBuildIsAppliedAtOpen) {
  const std::string path = testing::ledger_path();
  base::ManualClock clock(kT0);
  { Ledger::open(path, clock).configure_budget({.window_seconds = 0, .global_tokens = 1000}); }
  JournalRecord new_settle = settle_record(4, "b", 50, 20);
  new_settle.reasoning_tokens = 15;
  std::string mixed = encode_without_reasoning(reserve_record(1, "a", 100)) +
                      encode_without_reasoning(settle_record(2, "a", 100, 37));
  encode_journal_record(reserve_record(3, "b", 50), mixed);
  encode_journal_record(new_settle, mixed);
  write_file(path + "-writes-0", mixed);
  Ledger ledger = Ledger::open(path, clock);
  EXPECT_EQ(ledger.write_stats().recovered_writes, 4u);
  EXPECT_EQ(ledger.find("a")->used_tokens, 37);
  EXPECT_EQ(ledger.find("a")->reasoning_tokens, 0);
  EXPECT_EQ(ledger.find("b")->reasoning_tokens, 15);
  EXPECT_EQ(ledger.totals().overall.reasoning_tokens, 15);
  EXPECT_EQ(ledger.window_totals().spent_tokens, 57);
}

TEST(LedgerJournal, ARecordCutShortAtTheEndIsATornTailAtEveryCut) {
  const std::string whole = encode({reserve_record(1, "a", 10), reserve_record(2, "b", 20)});
  const std::size_t first = encode({reserve_record(1, "a", 10)}).size();
  for (std::size_t cut = first + 1; cut < whole.size(); ++cut) {
    const JournalContents back = decode_journal(whole.substr(0, cut), "j");
    ASSERT_EQ(back.records.size(), 1u) << "cut at " << cut;
    EXPECT_EQ(back.torn_tail_bytes, cut - first);
  }
}

TEST(LedgerJournal, ADamagedLastRecordIsTornButADamagedEarlierOneIsAnError) {
  std::string bytes = encode({reserve_record(1, "a", 10), reserve_record(2, "b", 20)});
  const std::size_t first = encode({reserve_record(1, "a", 10)}).size();
  std::string last_damaged = bytes;
  last_damaged[bytes.size() - 1] ^= 0x01;
  EXPECT_EQ(decode_journal(last_damaged, "j").records.size(), 1u);
  std::string first_damaged = bytes;
  first_damaged[first - 1] ^= 0x01;
  try {
    (void)decode_journal(first_damaged, "/tmp/ledger.db-writes-0");
    FAIL() << "a damaged record followed by another was accepted";
  } catch (const LedgerError& e) {
    EXPECT_NE(std::string(e.what()).find("/tmp/ledger.db-writes-0: corrupt journal at byte 0"),
              std::string::npos)
        << e.what();
  }
}

TEST(LedgerJournal, OpeningAppliesWhatACrashLeftOnceAndIgnoresATornTail) {
  const std::string path = testing::ledger_path();
  base::ManualClock clock(kT0);
  { Ledger::open(path, clock).configure_budget({.window_seconds = 0, .global_tokens = 1000}); }
  // As if the process died after journaling these and before applying them.
  const std::string left = encode(
      {reserve_record(1, "a", 100), settle_record(2, "a", 100, 37), reserve_record(3, "b", 50)});
  write_file(path + "-writes-1", left + encode({reserve_record(4, "c", 10)}).substr(0, 9));
  {
    Ledger ledger = Ledger::open(path, clock);
    EXPECT_EQ(ledger.write_stats().recovered_writes, 3u);
    const auto a = ledger.find("a");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->state, RequestState::kSettled);
    EXPECT_EQ(a->used_tokens, 37);
    EXPECT_DOUBLE_EQ(a->payment_usd, 0.25);
    ASSERT_TRUE(ledger.find("b").has_value());
    EXPECT_EQ(ledger.find("b")->state, RequestState::kOpen);
    EXPECT_FALSE(ledger.find("c").has_value());  // torn: never acknowledged
    const WindowTotals w = ledger.window_totals();
    EXPECT_EQ(w.spent_tokens, 37);
    EXPECT_EQ(w.reserved_tokens, 50);
    EXPECT_EQ(w.remaining_tokens, 1000 - 87);
    // New writes continue after the recovered ones.
    EXPECT_EQ(ledger.reserve("d", "key-a", "vllm", 10).status, ReserveStatus::kReserved);
    EXPECT_EQ(ledger.reserve("a", "key-a", "vllm", 10).status, ReserveStatus::kDuplicateId);
  }
  // A crash after the apply committed but before the journal was emptied: applied records are
  // skipped by their sequence numbers, not applied twice.
  write_file(path + "-writes-0", left);
  Ledger again = Ledger::open(path, clock);
  EXPECT_EQ(again.write_stats().recovered_writes, 0u);
  EXPECT_EQ(again.totals().overall.requests, 3);  // a, b, d
  EXPECT_EQ(again.window_totals().spent_tokens, 37);
}

// Property: a journal applied in batches (requests reserved and closed within one batch are written
// closed in one row; window usage is summed per key) leaves the rows and totals that applying each
// record in turn leaves. Seeded random journals over three keys, recovered in two batches: the
// second closes requests the first left open.
TEST(LedgerJournal, BatchedApplyMatchesRecordByRecord) {
  for (const std::uint64_t seed : {1u, 2u, 3u, 4u, 5u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const std::string path = testing::ledger_path();
    base::ManualClock clock(kT0);
    { Ledger::open(path, clock).configure_budget({.window_seconds = 0, .global_tokens = 1 << 30}); }
    struct Expected {
      std::string key;
      std::int64_t reserved = 0;
      RequestState state = RequestState::kOpen;
      std::int64_t used = 0;
      std::int64_t reasoning = 0;
    };
    std::map<std::string, Expected> model;
    std::uint64_t seq = 0;
    const auto close = [&](const std::string& id, std::vector<JournalRecord>& out) {
      Expected& e = model[id];
      JournalRecord r = settle_record(++seq, id, e.reserved, 0);
      r.key_id = e.key;
      if (rng() % 3 == 0) {
        r.kind = JournalRecord::Kind::kRelease;
        r.used_tokens = 0;
        r.payment_usd = 0.0;
        e.state = RequestState::kReleased;
      } else {
        r.used_tokens = static_cast<std::int64_t>(rng() % (e.reserved + 1));
        r.reasoning_tokens = r.used_tokens / 2;
        e.state = RequestState::kSettled;
        e.used = r.used_tokens;
        e.reasoning = r.reasoning_tokens;
      }
      out.push_back(r);
    };
    std::vector<std::string> left_open;
    for (int batch = 0; batch < 2; ++batch) {
      std::vector<JournalRecord> records;
      for (const std::string& id : left_open) close(id, records);  // reserved in the batch before
      left_open.clear();
      for (int i = 0; i < 60; ++i) {
        const std::string id = "r" + std::to_string(batch) + "-" + std::to_string(i);
        JournalRecord r = reserve_record(++seq, id, 1 + static_cast<std::int64_t>(rng() % 500));
        r.key_id = "key-" + std::to_string(rng() % 3);
        model[id] = {.key = r.key_id, .reserved = r.reserved_tokens};
        records.push_back(r);
        if (rng() % 4 == 0) {
          left_open.push_back(id);
        } else {
          close(id, records);
        }
      }
      write_file(path + "-writes-0", encode(records));
      Ledger ledger = Ledger::open(path, clock);
      EXPECT_EQ(ledger.write_stats().recovered_writes, records.size());
    }
    Ledger ledger = Ledger::open(path, clock);
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> by_key;  // spent, reserved
    for (const auto& [id, e] : model) {
      const std::optional<RequestRecord> row = ledger.find(id);
      ASSERT_TRUE(row.has_value()) << id;
      EXPECT_EQ(row->state, e.state) << id;
      EXPECT_EQ(row->key_id, e.key) << id;
      EXPECT_EQ(row->reserved_tokens, e.reserved) << id;
      EXPECT_EQ(row->reasoning_tokens, e.reasoning) << id;
      if (e.state == RequestState::kOpen) {
        EXPECT_FALSE(row->used_tokens.has_value()) << id;
        EXPECT_FALSE(row->closed_at_ms.has_value()) << id;
        by_key[e.key].second += e.reserved;
      } else {
        EXPECT_EQ(row->used_tokens, e.used) << id;
        EXPECT_EQ(row->closed_at_ms, kT0 + 5) << id;
        by_key[e.key].first += e.used;
      }
    }
    for (const auto& [key, expected] : by_key) {
      EXPECT_EQ(ledger.key_window_totals(key).spent_tokens, expected.first) << key;
      EXPECT_EQ(ledger.key_window_totals(key).reserved_tokens, expected.second) << key;
    }
  }
}

TEST(LedgerJournal, ACleanCloseLeavesTheJournalEmpty) {
  const std::string path = testing::ledger_path();
  base::ManualClock clock(kT0);
  {
    Ledger ledger = Ledger::open(path, clock);
    for (int i = 0; i < 100; ++i) {
      const std::string id = "r" + std::to_string(i);
      ASSERT_EQ(ledger.reserve(id, "k", "u", 10).status, ReserveStatus::kReserved);
      if (i % 2 == 0) {
        ASSERT_EQ(ledger.settle(id, 4, 0.0).status, CloseStatus::kClosed);
      }
    }
    EXPECT_GT(ledger.unapplied_journal_bytes(), 0u);
  }
  Ledger reader = Ledger::open(path, clock, {.read_only = true});
  EXPECT_EQ(reader.unapplied_journal_bytes(), 0u);
  const LedgerTotals totals = reader.totals();
  EXPECT_EQ(totals.overall.requests, 100);
  EXPECT_EQ(totals.overall.spent_tokens, 50 * 4);
  EXPECT_EQ(totals.overall.reserved_tokens, 50 * 10);
}

TEST(LedgerJournal, ImplausibleSizesAreCorruptionAndAZeroFilledTailIsTorn) {
  const std::string good = encode({reserve_record(1, "a", 10)});
  std::string huge = good + encode({reserve_record(2, "b", 20)});
  huge[good.size()] = '\xff';  // the second record's size: far beyond any record
  huge[good.size() + 1] = '\xff';
  huge[good.size() + 2] = '\xff';
  EXPECT_THROW((void)decode_journal(huge, "j"), LedgerError);
  const JournalContents zeros = decode_journal(good + std::string(4096, '\0'), "j");
  EXPECT_EQ(zeros.records.size(), 1u);
  EXPECT_EQ(zeros.torn_tail_bytes, 4096u);
}

TEST(LedgerJournal, OldWindowsLeaveMemoryAndAClockThatGoesBackThereIsRefused) {
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(testing::ledger_path(), clock);
  ledger.configure_budget({.window_seconds = 60, .global_tokens = 100});
  ASSERT_EQ(ledger.reserve("kept-open", "k", "u", 30).status, ReserveStatus::kReserved);
  clock.advance_ms(60'000);
  ASSERT_EQ(ledger.reserve("settled", "k", "u", 40).status, ReserveStatus::kReserved);
  ASSERT_EQ(ledger.settle("settled", 10, 0.0).status, CloseStatus::kClosed);
  clock.advance_ms(3 * 60'000);  // three windows on: the settled window is dropped from memory
  ASSERT_EQ(ledger.reserve("now", "k", "u", 100).status, ReserveStatus::kReserved);
  // The first window still has an open request: kept, and its settle is charged to it.
  EXPECT_EQ(ledger.settle("kept-open", 25, 0.0).status, CloseStatus::kClosed);
  clock.set_ms(kT0 + 60'000);
  EXPECT_THROW((void)ledger.reserve("late", "k", "u", 1), LedgerError);
  clock.set_ms(kT0 + 4 * 60'000);
  EXPECT_EQ(ledger.window_totals().reserved_tokens, 100);
  // Memory agrees with SQLite for every window SQLite knows.
  const LedgerTotals totals = ledger.totals();
  EXPECT_EQ(totals.window.reserved_tokens, 100);
  EXPECT_EQ(totals.overall.spent_tokens, 25 + 10);
}

TEST(LedgerJournal, ANewWindowLengthReloadsTheWindowsFromTheFile) {
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(testing::ledger_path(), clock);
  ledger.configure_budget({.window_seconds = 60, .global_tokens = 1000});
  for (int i = 0; i < 5; ++i) {
    const std::string id = "r" + std::to_string(i);
    ASSERT_EQ(ledger.reserve(id, "k", "u", 50).status, ReserveStatus::kReserved);
    ASSERT_EQ(ledger.settle(id, 20, 0.0).status, CloseStatus::kClosed);
    clock.advance_ms(61'000);
  }
  ledger.configure_budget({.window_seconds = 3600, .global_tokens = 1000});
  const WindowTotals memory = ledger.window_totals();
  const WindowTotals file = ledger.totals().window;
  EXPECT_EQ(memory.window_start_ms, file.window_start_ms);
  EXPECT_EQ(memory.spent_tokens, file.spent_tokens);
  EXPECT_EQ(memory.reserved_tokens, file.reserved_tokens);
  EXPECT_EQ(memory.remaining_tokens, file.remaining_tokens);
}

TEST(LedgerJournal, ASecondWriterIsRefusedAndReadersAreNot) {
  const std::string path = testing::ledger_path();
  base::ManualClock clock(kT0);
  {
    Ledger writer = Ledger::open(path, clock);
    try {
      Ledger second = Ledger::open(path, clock);
      FAIL() << "a second writer opened the ledger";
    } catch (const LedgerError& e) {
      EXPECT_NE(std::string(e.what()).find("already open for writing"), std::string::npos)
          << e.what();
    }
    EXPECT_NO_THROW(Ledger::open(path, clock, {.read_only = true}));
    ASSERT_EQ(writer.reserve("a", "k", "u", 1).status, ReserveStatus::kReserved);
  }
  Ledger reopened = Ledger::open(path, clock);  // the lock went with the first writer
  EXPECT_TRUE(reopened.find("a").has_value());
}

TEST(LedgerJournal, AnIdIsTakenWhetherItsWritesAreAppliedOrNot) {
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(testing::ledger_path(), clock);
  ASSERT_EQ(ledger.reserve("x", "k", "u", 10).status, ReserveStatus::kReserved);
  ASSERT_EQ(ledger.settle("x", 3, 0.0).status, CloseStatus::kClosed);
  EXPECT_EQ(ledger.reserve("x", "k", "u", 10).status,
            ReserveStatus::kDuplicateId);     // maybe unapplied
  ASSERT_TRUE(ledger.find("x").has_value());  // applied now
  EXPECT_EQ(ledger.reserve("x", "k", "u", 10).status, ReserveStatus::kDuplicateId);
  const CloseResult again = ledger.settle("x", 9, 0.0);
  EXPECT_EQ(again.status, CloseStatus::kAlreadyClosed);
  EXPECT_EQ(again.used_tokens, 3);
  EXPECT_EQ(ledger.release("never").status, CloseStatus::kUnknownId);
}

// A fresh id (IdCheck::kFreshId: made by make_request_id just now) is still refused while its
// request is open or its reserve is not yet in the file; an id not of make_request_id's form is a
// programming error.
TEST(LedgerJournal, AFreshIdIsCheckedInMemory) {
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(testing::ledger_path(), clock);
  std::mt19937_64 rng(7);
  const std::string id = make_request_id(rng, kT0);
  ASSERT_EQ(ledger.reserve(id, "k", "u", 10, IdCheck::kFreshId).status, ReserveStatus::kReserved);
  EXPECT_EQ(ledger.reserve(id, "k", "u", 10, IdCheck::kFreshId).status,
            ReserveStatus::kDuplicateId);  // open
  EXPECT_THROW((void)ledger.reserve("not-an-id", "k", "u", 10, IdCheck::kFreshId),
               std::invalid_argument);
  ASSERT_EQ(ledger.settle(id, 4, 0.0).status, CloseStatus::kClosed);
  EXPECT_EQ(ledger.find(id)->used_tokens, 4);
}

}  // namespace
}  // namespace clearhouse::ledger
