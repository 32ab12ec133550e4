// The ledger's SQLite schema and its migrations, private to ledger.cpp.
//
// The file records its version in `schema_version`; open_schema() creates version 1 in an empty
// file, applies migrations in order in one transaction when the file is older, and refuses
// (LedgerError naming the file) a file that is newer than this build, is not a clearhouse ledger,
// or is corrupt.
//
// Tables (version 1):
//   schema_version(version)                       one row
//   budget(id = 1, window_seconds, global_tokens) one row; global_tokens NULL = no global budget
//   key_budgets(key_id, tokens)                   per-key budget per window
//   requests(seq, request_id UNIQUE, key_id, upstream, state, reserved_tokens, used_tokens,
//            payment_usd, window_start_ms, reserved_at_ms, closed_at_ms)
//                                                 one row per request; state is 'open', 'settled',
//                                                 'released' or 'reconciled'
//   window_usage(window_start_ms, key_id, reserved_tokens, used_tokens)
//                                                 per window and key: open caps and closed usage,
//                                                 kept in step with `requests` in the same
//                                                 transaction, so a budget check reads a few rows
// Version 2 adds:
//   journal_state(id = 1, applied_seq)            the last journal record (journal.h) applied,
//                                                 updated in the transaction that applies it
// Version 3 adds:
//   requests.reasoning_tokens                     of used_tokens, the reasoning ones (0 when not
//                                                 reported, and for every request of older files)
//
// Thread-safety: none (called once while opening).
#pragma once

#include "ledger/sqlite.h"

namespace clearhouse::ledger {

inline constexpr int kLedgerSchemaVersion = 3;

// Brings the file to kLedgerSchemaVersion (read_only: only checks it is exactly that version) and
// returns the version found on disk before any migration (0 for a new file).
int open_schema(sqlite::Connection& db, bool read_only);

}  // namespace clearhouse::ledger
