// The ledger's journal: an append-only file of the writes (reserve, settle, release) the ledger has
// acknowledged but not yet applied to its SQLite file. Appending one record is one write() of about
// 100 bytes, which survives the process being killed as soon as it returns (the data is in the
// kernel's page cache), instead of a SQLite commit's whole 4 KiB pages; a background thread applies
// the records to SQLite in large transactions (ledger.h), and a restart applies whatever a crash
// left. Private to the ledger (ledger*.cpp).
//
// Record format (native byte order: the file is read back only by the machine that wrote it, when
// the ledger next opens): u32 payload size, u64 FNV-1a checksum of the payload, payload. Payload:
// u8 kind, u64 seq, four i64 fields, f64 payment, three strings each as u16 size + bytes, then
// i64 reasoning tokens (added with ledger schema 3; a payload ending after the strings, as every
// record of older builds does, reads as 0 reasoning tokens, so their journals still apply). A
// record cut short at the end of the file (a crash during the write) is a torn tail and is ignored;
// a bad record followed by more data is corruption and an error naming the file and offset.
//
// Thread-safety: none; the ledger serialises appends with its state mutex.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace clearhouse::ledger {

struct JournalRecord {
  enum class Kind : std::uint8_t { kReserve = 1, kSettle = 2, kRelease = 3 };
  Kind kind = Kind::kReserve;
  std::uint64_t seq = 0;  // strictly increasing across the ledger's life
  std::string request_id;
  std::string key_id;
  std::string upstream;               // reserve only
  std::int64_t reserved_tokens = 0;   // the reservation (also on close records: to apply them)
  std::int64_t window_start_ms = 0;   // the window the request is charged to
  std::int64_t at_ms = 0;             // reserved at (reserve) or closed at (settle, release)
  std::int64_t used_tokens = 0;       // settle only
  double payment_usd = 0.0;           // settle only
  std::int64_t reasoning_tokens = 0;  // settle only: of used_tokens, reasoning

  bool operator==(const JournalRecord&) const = default;
};

// Appends encoded records to `out`.
void encode_journal_record(const JournalRecord& record, std::string& out);

struct JournalContents {
  std::vector<JournalRecord> records;
  std::uint64_t torn_tail_bytes = 0;  // bytes after the last whole record (a write cut by a crash)
};

// Decodes a whole journal file's bytes. Throws LedgerError("<path>: corrupt journal at byte N:
// ...") for a damaged record that is not the file's tail.
[[nodiscard]] JournalContents decode_journal(std::string_view bytes, const std::string& path);

// One journal file, open for appending.
class JournalFile {
 public:
  // Opens (creating) path. Throws LedgerError naming the path.
  explicit JournalFile(std::string path);
  ~JournalFile();
  JournalFile(const JournalFile&) = delete;
  JournalFile& operator=(const JournalFile&) = delete;

  // Writes bytes at the end with one write() (repeated only for a short write), then fdatasync()s
  // if sync. On failure the file is cut back to its size before the call, so a failed append leaves
  // no partial record, and LedgerError is thrown.
  void append(std::string_view bytes, bool sync);
  // Empties the file (its records are all in SQLite).
  void truncate();
  [[nodiscard]] std::uint64_t size() const { return size_; }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  void cut_back();

  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  bool damaged_ = false;  // a failed append could not be cut off: no more appends
};

// fsyncs the directory holding path, so a file just created there survives a power loss. Throws
// LedgerError naming the directory.
void sync_directory_of(const std::string& path);

// Reads a journal file; a missing file is empty. Throws LedgerError naming the path.
[[nodiscard]] JournalContents read_journal_file(const std::string& path);

}  // namespace clearhouse::ledger
