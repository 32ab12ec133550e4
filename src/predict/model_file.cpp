// The threshold predictor's model file: the only I/O of src/predict.
//
// Layout (all integers little-endian, floats IEEE-754 bit patterns; str = u32 length + bytes):
//   "CLHTHRP1" (8 bytes) | u32 version | str backbone | u64 examples | u32 count + str datasets |
//   u8 has_dataset_head | head (text only) | [head (with dataset)] |
//   u64 FNV-1a checksum of every preceding byte.
// head = u32 hash_bits | u8 words | u8 bigrams | u32 char_min | u32 char_max | u8 use_dataset |
//   f32 dense_scale | f64 lambda | f64 intercept | f64 log_min | f64 log_max | f64 residual_std |
//   u8 has_spread | [f64 spread_intercept] | weights | [spread weights]
// weights = u32 nnz + nnz x (u32 index, f32 weight).
#include <algorithm>
#include <bit>
#include <cmath>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>

#include "predict/linear_head.h"
#include "predict/threshold_predictor.h"

namespace clearhouse::predict {
namespace {

constexpr char kMagic[9] = "CLHTHRP1";

std::uint64_t fnv1a(const std::string& bytes, std::size_t count) {
  std::uint64_t h = 14695981039346656037ull;
  for (std::size_t i = 0; i < count; ++i) {
    h ^= static_cast<unsigned char>(bytes[i]);
    h *= 1099511628211ull;
  }
  return h;
}

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xffu));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xffu));
  }
  void f64(double v) { u64(std::bit_cast<std::uint64_t>(v)); }
  void f32(float v) { u32(std::bit_cast<std::uint32_t>(v)); }
  void str(const std::string& s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_ += s;
  }
  void weights(const std::vector<float>& w) {
    std::uint32_t nnz = 0;
    for (const float x : w) nnz += x != 0.0f ? 1u : 0u;
    u32(nnz);
    for (std::uint32_t i = 0; i < w.size(); ++i) {
      if (w[i] != 0.0f) {
        u32(i);
        f32(w[i]);
      }
    }
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  Reader(const std::string& bytes, std::size_t end, const std::string& source)
      : in_(bytes), end_(end), source_(source) {}
  std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)[0]); }
  std::uint32_t u32() {
    const char* p = take(4);
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
    return v;
  }
  std::uint64_t u64() {
    const char* p = take(8);
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
    return v;
  }
  double f64() {
    const double v = std::bit_cast<double>(u64());
    if (!std::isfinite(v)) fail("non-finite number");
    return v;
  }
  float f32() {
    const float v = std::bit_cast<float>(u32());
    if (!std::isfinite(v)) fail("non-finite weight");
    return v;
  }
  std::string str() {
    const std::uint32_t len = u32();
    const char* p = take(len);
    return std::string(p, len);
  }
  std::vector<float> weights(std::uint32_t dimension) {
    const std::uint32_t nnz = u32();
    if (nnz > dimension) fail("more weights than features");
    std::vector<float> w(dimension, 0.0f);
    for (std::uint32_t k = 0; k < nnz; ++k) {
      const std::uint32_t i = u32();
      if (i >= dimension) fail("weight index out of range");
      w[i] = f32();
    }
    return w;
  }
  std::size_t position() const { return pos_; }
  [[noreturn]] void fail(const std::string& what) const {
    throw ModelFileError(source_ + ": corrupt predictor model file: " + what);
  }

 private:
  const char* take(std::size_t count) {
    if (count > end_ - pos_) fail("truncated");
    const char* p = in_.data() + pos_;
    pos_ += count;
    return p;
  }
  const std::string& in_;
  std::size_t end_;
  std::size_t pos_ = 0;
  const std::string& source_;
};

}  // namespace

class ModelFileCodec {
 public:
  static void write_head(Writer& w, const LinearHead& h) {
    const FeatureOptions& o = h.features_.options();
    w.u32(o.hash_bits);
    w.u8(o.words ? 1 : 0);
    w.u8(o.word_bigrams ? 1 : 0);
    w.u32(o.char_ngram_min);
    w.u32(o.char_ngram_max);
    w.u8(o.use_dataset ? 1 : 0);
    w.f32(o.dense_scale);
    w.f64(h.lambda_);
    w.f64(h.intercept_);
    w.f64(h.log_min_);
    w.f64(h.log_max_);
    w.f64(h.residual_std_);
    w.u8(h.spread_weights_.empty() ? 0 : 1);
    if (!h.spread_weights_.empty()) w.f64(h.spread_intercept_);
    w.weights(h.weights_);
    if (!h.spread_weights_.empty()) w.weights(h.spread_weights_);
  }

  static std::shared_ptr<const LinearHead> read_head(Reader& r) {
    FeatureOptions o;
    o.hash_bits = r.u32();
    o.words = r.u8() != 0;
    o.word_bigrams = r.u8() != 0;
    o.char_ngram_min = r.u32();
    o.char_ngram_max = r.u32();
    o.use_dataset = r.u8() != 0;
    o.dense_scale = r.f32();
    if (o.hash_bits < 10 || o.hash_bits > 24) r.fail("bad hash_bits");
    std::shared_ptr<LinearHead> h;
    try {
      h = std::make_shared<LinearHead>(o);
    } catch (const std::invalid_argument& e) {
      r.fail(e.what());
    }
    h->lambda_ = r.f64();
    h->intercept_ = r.f64();
    h->log_min_ = r.f64();
    h->log_max_ = r.f64();
    h->residual_std_ = r.f64();
    const bool has_spread = r.u8() != 0;
    if (has_spread) h->spread_intercept_ = r.f64();
    h->weights_ = r.weights(o.dimension());
    if (has_spread) h->spread_weights_ = r.weights(o.dimension());
    return h;
  }

  static void save(const ThresholdPredictor& p, std::ostream& out) {
    Writer w;
    w.bytes().append(kMagic, 8);
    w.u32(ThresholdPredictor::kFileVersion);
    w.str(p.backbone_);
    w.u64(p.training_examples_);
    w.u32(static_cast<std::uint32_t>(p.datasets_.size()));
    for (const std::string& d : p.datasets_) w.str(d);
    w.u8(p.dataset_head_ ? 1 : 0);
    write_head(w, *p.text_head_);
    if (p.dataset_head_) write_head(w, *p.dataset_head_);
    w.u64(fnv1a(w.bytes(), w.bytes().size()));
    out.write(w.bytes().data(), static_cast<std::streamsize>(w.bytes().size()));
  }

  static ThresholdPredictor load(std::istream& in, const std::string& source) {
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (bytes.size() < 8 || bytes.compare(0, 7, kMagic, 7) != 0) {
      throw ModelFileError(source + ": not a clearhouse predictor model file (bad magic)");
    }
    if (bytes.size() < 20)
      throw ModelFileError(source + ": corrupt predictor model file: truncated");
    const std::size_t body = bytes.size() - 8;
    Reader r(bytes, body, source);
    for (int i = 0; i < 8; ++i) r.u8();  // magic
    const std::uint32_t version = r.u32();
    if (version != ThresholdPredictor::kFileVersion) {
      throw ModelFileError(source + ": predictor model file version " + std::to_string(version) +
                           "; this build reads version " +
                           std::to_string(ThresholdPredictor::kFileVersion));
    }
    std::uint64_t stored = 0;
    for (int i = 0; i < 8; ++i) {
      stored |= std::uint64_t{static_cast<unsigned char>(bytes[body + static_cast<std::size_t>(i)])}
                << (8 * i);
    }
    if (stored != fnv1a(bytes, body)) r.fail("checksum mismatch");
    ThresholdPredictor p;
    p.backbone_ = r.str();
    p.training_examples_ = r.u64();
    const std::uint32_t n_datasets = r.u32();
    if (n_datasets > body) r.fail("bad dataset count");
    for (std::uint32_t i = 0; i < n_datasets; ++i) p.datasets_.push_back(r.str());
    if (!std::is_sorted(p.datasets_.begin(), p.datasets_.end())) r.fail("datasets not sorted");
    const bool has_dataset_head = r.u8() != 0;
    p.text_head_ = read_head(r);
    if (has_dataset_head) p.dataset_head_ = read_head(r);
    if (r.position() != body) r.fail("trailing bytes");
    return p;
  }
};

void ThresholdPredictor::save(std::ostream& out) const {
  ModelFileCodec::save(*this, out);
}

ThresholdPredictor ThresholdPredictor::load(std::istream& in, const std::string& source) {
  return ModelFileCodec::load(in, source);
}

void ThresholdPredictor::save_file(const std::filesystem::path& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw ModelFileError(path.string() + ": cannot open for writing");
  save(out);
  out.flush();
  if (!out) throw ModelFileError(path.string() + ": write failed");
}

ThresholdPredictor ThresholdPredictor::load_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelFileError(path.string() + ": cannot open predictor model file");
  return load(in, path.string());
}

}  // namespace clearhouse::predict
