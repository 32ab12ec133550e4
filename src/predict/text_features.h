// TextFeatures: turns a question's text (and optionally its dataset name) into a sparse feature
// vector for the threshold regressor. Deterministic and platform-independent (hashes are defined
// here byte by byte), so a model file trained on one machine predicts the same on another.
//
// Features (index space = kDenseFeatureCount dense slots, then 2^hash_bits hashed slots):
//  - dense: log1p of characters, words, numbers, '$' signs, LaTeX commands, sentences, the longest
//    number's digits, '=' signs, and a question-mark flag;
//  - hashed word unigrams and bigrams over tokens (lower-cased words, LaTeX commands such as \frac,
//    numbers as a digit-count token, single punctuation marks), each group scaled by 1/sqrt(count);
//  - hashed character n-grams (char_ngram_min..char_ngram_max) of the lower-cased text with digits
//    mapped to '0' and whitespace runs collapsed, scaled by 1/sqrt(count);
//  - optionally (use_dataset) an indicator of the dataset name and its products with each dense
//    feature (a per-dataset intercept and slopes).
// Dense features are multiplied by dense_scale (a weaker effective ridge penalty than hashed ones).
// Thread-safe: extract() is const and writes only to the caller's buffer.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace clearhouse::predict {

inline constexpr std::uint32_t kDenseFeatureCount = 9;

struct FeatureOptions {
  std::uint32_t hash_bits = 18;  // hashed slots = 2^hash_bits (10..24)
  bool words = true;
  bool word_bigrams = true;
  // Character n-grams: off by default (0) -- on this data they cost 2.2x training and 2.6x
  // prediction time for no validation gain (docs/predictor.md); e.g. 3..5 turns them on.
  std::uint32_t char_ngram_min = 0;  // 0 disables character n-grams
  std::uint32_t char_ngram_max = 5;
  bool use_dataset = true;   // also fit a head that sees the dataset name (ThresholdPredictor)
  float dense_scale = 3.0f;  // multiplies the dense features (a larger scale = a weaker penalty)

  std::uint32_t dimension() const { return kDenseFeatureCount + (1u << hash_bits); }
  bool operator==(const FeatureOptions&) const = default;
};

// A feature vector as parallel arrays; indices may repeat (values then add up).
struct FeatureBuffer {
  std::vector<std::uint32_t> index;
  std::vector<float> value;
  void clear() {
    index.clear();
    value.clear();
  }
};

class TextFeatures {
 public:
  // Throws std::invalid_argument for out-of-range options.
  explicit TextFeatures(const FeatureOptions& options);

  const FeatureOptions& options() const { return options_; }
  std::uint32_t dimension() const { return options_.dimension(); }

  // Clears `out` and fills it with the features of `text`. `dataset` is ignored unless
  // options().use_dataset.
  void extract(std::string_view text, std::string_view dataset, FeatureBuffer& out) const;

 private:
  FeatureOptions options_;
  std::uint32_t mask_;
};

}  // namespace clearhouse::predict
