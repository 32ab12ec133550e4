#include "ledger/journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>

#include "base/file.h"
#include "ledger/error.h"

namespace clearhouse::ledger {

namespace {

constexpr std::size_t kHeaderBytes = sizeof(std::uint32_t) + sizeof(std::uint64_t);
// kind + seq + four i64 + payment + three u16 sizes.
constexpr std::size_t kFixedPayloadBytes = 1 + 8 + 4 * 8 + 8 + 3 * 2;
// The reasoning tokens after the strings: absent from records of older builds.
constexpr std::size_t kTrailerBytes = 8;
constexpr std::size_t kMaxPayloadBytes =
    kFixedPayloadBytes + 3 * std::numeric_limits<std::uint16_t>::max() + kTrailerBytes;

std::uint64_t fnv1a(std::string_view bytes) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

template <class T>
void put(std::string& out, T value) {
  char raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  out.append(raw, sizeof(T));
}

void put_string(std::string& out, const std::string& s) {
  // The ledger caps ids at kMaxLedgerIdLength (256) bytes; a u16 holds that with room to spare.
  put<std::uint16_t>(out, static_cast<std::uint16_t>(s.size()));
  out.append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  template <class T>
  bool get(T& value) {
    if (bytes_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool get_string(std::string& s) {
    std::uint16_t size = 0;
    if (!get(size) || bytes_.size() - pos_ < size) return false;
    s.assign(bytes_.data() + pos_, size);
    pos_ += size;
    return true;
  }
  [[nodiscard]] bool at_end() const { return pos_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

bool decode_payload(std::string_view payload, JournalRecord& r) {
  Reader in(payload);
  std::uint8_t kind = 0;
  if (!in.get(kind) || kind < 1 || kind > 3) return false;
  r.kind = static_cast<JournalRecord::Kind>(kind);
  const bool fixed = in.get(r.seq) && in.get(r.reserved_tokens) && in.get(r.window_start_ms) &&
                     in.get(r.at_ms) && in.get(r.used_tokens) && in.get(r.payment_usd) &&
                     in.get_string(r.request_id) && in.get_string(r.key_id) &&
                     in.get_string(r.upstream);
  if (!fixed) return false;
  r.reasoning_tokens = 0;
  if (in.at_end()) return true;  // a record of a build before the reasoning field
  return in.get(r.reasoning_tokens) && in.at_end();
}

[[noreturn]] void fail(const std::string& path, std::string_view what) {
  throw LedgerError(path + ": " + std::string(what) + ": " + std::strerror(errno));
}

}  // namespace

void encode_journal_record(const JournalRecord& r, std::string& out) {
  std::string payload;
  payload.reserve(kFixedPayloadBytes + r.request_id.size() + r.key_id.size() + r.upstream.size() +
                  kTrailerBytes);
  put<std::uint8_t>(payload, static_cast<std::uint8_t>(r.kind));
  put(payload, r.seq);
  put(payload, r.reserved_tokens);
  put(payload, r.window_start_ms);
  put(payload, r.at_ms);
  put(payload, r.used_tokens);
  put(payload, r.payment_usd);
  put_string(payload, r.request_id);
  put_string(payload, r.key_id);
  put_string(payload, r.upstream);
  put(payload, r.reasoning_tokens);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(payload.size()));
  put(out, fnv1a(payload));
  out.append(payload);
}

JournalContents decode_journal(std::string_view bytes, const std::string& path) {
  JournalContents out;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const std::size_t left = bytes.size() - pos;
    std::uint32_t size = 0;
    std::uint64_t checksum = 0;
    // Zeros to the end: blocks allocated but never written, which a power loss can leave.
    if (bytes.find_first_not_of('\0', pos) == std::string_view::npos) {
      out.torn_tail_bytes = left;
      return out;
    }
    bool whole = left >= kHeaderBytes;
    if (whole) {
      std::memcpy(&size, bytes.data() + pos, sizeof size);
      std::memcpy(&checksum, bytes.data() + pos + sizeof size, sizeof checksum);
      if (size < kFixedPayloadBytes || size > kMaxPayloadBytes) {
        throw LedgerError(path + ": corrupt journal at byte " + std::to_string(pos) +
                          ": a record claims " + std::to_string(size) + " bytes");
      }
      whole = left - kHeaderBytes >= size;
    }
    if (!whole) {
      // Cut short: only a write interrupted by a crash leaves this, and only at the end.
      out.torn_tail_bytes = left;
      return out;
    }
    const std::string_view payload = bytes.substr(pos + kHeaderBytes, size);
    JournalRecord record;
    if (fnv1a(payload) != checksum || !decode_payload(payload, record)) {
      if (pos + kHeaderBytes + size == bytes.size()) {  // a damaged last record: torn as well
        out.torn_tail_bytes = left;
        return out;
      }
      throw LedgerError(path + ": corrupt journal at byte " + std::to_string(pos) +
                        ": a damaged record is followed by more records");
    }
    out.records.push_back(std::move(record));
    pos += kHeaderBytes + size;
  }
  return out;
}

JournalFile::JournalFile(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(path_, "cannot open the ledger journal");
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail(path_, "cannot stat the ledger journal");
  size_ = static_cast<std::uint64_t>(st.st_size);
}

JournalFile::~JournalFile() {
  if (fd_ >= 0) ::close(fd_);
}

void JournalFile::cut_back() {
  // A partial record followed by later ones would read as corruption: if it cannot be cut off,
  // refuse every later append rather than write after it.
  if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) damaged_ = true;
}

void JournalFile::append(std::string_view bytes, bool sync) {
  if (damaged_) {
    throw LedgerError(path_ +
                      ": the ledger journal holds a partial record from an earlier failed "
                      "write and cannot be appended to; restart to recover it");
  }
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = n == 0 ? EIO : errno;
      cut_back();
      errno = saved;
      fail(path_, "cannot write the ledger journal");
    }
    written += static_cast<std::size_t>(n);
  }
  if (sync && ::fdatasync(fd_) != 0) {
    const int saved = errno;
    cut_back();
    errno = saved;
    fail(path_, "cannot sync the ledger journal");
  }
  size_ += bytes.size();
}

void JournalFile::truncate() {
  if (::ftruncate(fd_, 0) != 0) fail(path_, "cannot empty the ledger journal");
  size_ = 0;
  damaged_ = false;  // the partial record went with the rest
}

void sync_directory_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(dir, "cannot open the ledger's directory");
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  if (rc != 0) fail(dir, "cannot sync the ledger's directory");
}

JournalContents read_journal_file(const std::string& path) {
  std::error_code missing;
  if (!std::filesystem::exists(path, missing) && !missing) return {};
  try {
    return decode_journal(base::read_whole_file(path), path);
  } catch (const base::FileError& e) {
    throw LedgerError(std::string("cannot read the ledger journal: ") +
                      e.what());  // names the file
  }
}

}  // namespace clearhouse::ledger
