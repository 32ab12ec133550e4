#include "predict/text_features.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace clearhouse::predict {
namespace {

constexpr std::uint64_t kFnvOffset = 14695981039346656037ull;
constexpr std::uint64_t kFnvPrime = 1099511628211ull;

// Group seeds keep the hashed groups apart.
constexpr std::uint64_t kSeedWord = 0x9e3779b97f4a7c15ull;
constexpr std::uint64_t kSeedBigram = 0xc2b2ae3d27d4eb4full;
constexpr std::uint64_t kSeedChar = 0x165667b19e3779f9ull;
constexpr std::uint64_t kSeedDataset = 0xd6e8feb86659fd93ull;

constexpr std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::uint64_t hash_bytes(std::uint64_t seed, std::string_view bytes) {
  std::uint64_t h = kFnvOffset ^ seed;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnvPrime;
  }
  return mix(h);
}

bool is_alpha(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
bool is_space(unsigned char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}
char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Tokens of a text, as 64-bit hashes, plus the counts the dense features need.
struct Tokens {
  std::vector<std::uint64_t> hashes;
  std::uint32_t words = 0, numbers = 0, latex = 0, longest_number = 0;
};

void tokenize(std::string_view text, Tokens& t, std::string& scratch) {
  t.hashes.clear();
  t.words = t.numbers = t.latex = t.longest_number = 0;
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (is_space(c)) {
      ++i;
    } else if (is_alpha(c) || c >= 0x80) {
      scratch.clear();
      while (i < n && (is_alpha(static_cast<unsigned char>(text[i])) ||
                       static_cast<unsigned char>(text[i]) >= 0x80)) {
        scratch.push_back(lower(text[i]));
        ++i;
      }
      t.hashes.push_back(hash_bytes(kSeedWord, scratch));
      ++t.words;
    } else if (is_digit(c)) {
      std::uint32_t digits = 0;
      while (i < n &&
             (is_digit(static_cast<unsigned char>(text[i])) ||
              (text[i] == '.' && i + 1 < n && is_digit(static_cast<unsigned char>(text[i + 1]))))) {
        digits += is_digit(static_cast<unsigned char>(text[i])) ? 1u : 0u;
        ++i;
      }
      ++t.numbers;
      t.longest_number = std::max(t.longest_number, digits);
      const char token[3] = {'#', static_cast<char>('0' + std::min<std::uint32_t>(digits, 9)), 0};
      t.hashes.push_back(hash_bytes(kSeedWord, std::string_view(token, 2)));
    } else if (c == '\\' && i + 1 < n && is_alpha(static_cast<unsigned char>(text[i + 1]))) {
      const std::size_t start = i;
      ++i;
      while (i < n && is_alpha(static_cast<unsigned char>(text[i]))) ++i;
      t.hashes.push_back(hash_bytes(kSeedWord, text.substr(start, i - start)));
      ++t.latex;
    } else {
      t.hashes.push_back(hash_bytes(kSeedWord, text.substr(i, 1)));
      ++i;
    }
  }
}

}  // namespace

TextFeatures::TextFeatures(const FeatureOptions& options) : options_(options) {
  if (options.hash_bits < 10 || options.hash_bits > 24) {
    throw std::invalid_argument("hash_bits must be in [10, 24]");
  }
  if (options.char_ngram_min > 0 &&
      (options.char_ngram_max < options.char_ngram_min || options.char_ngram_max > 8)) {
    throw std::invalid_argument("need char_ngram_min <= char_ngram_max <= 8");
  }
  mask_ = (1u << options.hash_bits) - 1u;
}

void TextFeatures::extract(std::string_view text, std::string_view dataset,
                           FeatureBuffer& out) const {
  out.clear();
  thread_local Tokens tokens;
  thread_local std::string scratch;
  thread_local std::string normalized;
  tokenize(text, tokens, scratch);

  std::uint32_t dollars = 0, sentences = 0, equals = 0;
  bool question_mark = false;
  for (const char c : text) {
    dollars += c == '$' ? 1u : 0u;
    sentences += (c == '.' || c == '?' || c == '!') ? 1u : 0u;
    equals += c == '=' ? 1u : 0u;
    question_mark = question_mark || c == '?';
  }
  const auto log1p_f = [](double x) { return static_cast<float>(std::log1p(x)); };
  const float log_chars = log1p_f(static_cast<double>(text.size()));
  const float dense[kDenseFeatureCount] = {log_chars,
                                           log1p_f(tokens.words),
                                           log1p_f(tokens.numbers),
                                           log1p_f(dollars),
                                           log1p_f(tokens.latex),
                                           log1p_f(sentences),
                                           log1p_f(tokens.longest_number),
                                           log1p_f(equals),
                                           question_mark ? 1.0f : 0.0f};
  const float scale = options_.dense_scale;
  for (std::uint32_t k = 0; k < kDenseFeatureCount; ++k) {
    out.index.push_back(k);
    out.value.push_back(scale * dense[k]);
  }
  const auto slot = [this](std::uint64_t h) {
    return kDenseFeatureCount + static_cast<std::uint32_t>(h & mask_);
  };

  const std::size_t n_tokens = tokens.hashes.size();
  if (options_.words && n_tokens > 0) {
    const float v = 1.0f / std::sqrt(static_cast<float>(n_tokens));
    for (const std::uint64_t h : tokens.hashes) {
      out.index.push_back(slot(h));
      out.value.push_back(v);
    }
  }
  if (options_.word_bigrams && n_tokens > 1) {
    const float v = 1.0f / std::sqrt(static_cast<float>(n_tokens - 1));
    for (std::size_t i = 0; i + 1 < n_tokens; ++i) {
      out.index.push_back(slot(mix(tokens.hashes[i] * kSeedBigram + tokens.hashes[i + 1])));
      out.value.push_back(v);
    }
  }
  if (options_.char_ngram_min > 0) {
    normalized.clear();
    normalized.push_back(' ');
    for (const char c : text) {
      const auto u = static_cast<unsigned char>(c);
      if (is_space(u)) {
        if (normalized.back() != ' ') normalized.push_back(' ');
      } else {
        normalized.push_back(is_digit(u) ? '0' : lower(c));
      }
    }
    if (normalized.back() != ' ') normalized.push_back(' ');
    const std::size_t len = normalized.size();
    const std::size_t lo = options_.char_ngram_min, hi = options_.char_ngram_max;
    std::size_t count = 0;
    for (std::size_t k = lo; k <= hi; ++k) count += len >= k ? len - k + 1 : 0;
    if (count > 0) {
      const float v = 1.0f / std::sqrt(static_cast<float>(count));
      for (std::size_t i = 0; i + lo <= len; ++i) {
        std::uint64_t h = kFnvOffset ^ kSeedChar;
        const std::size_t end = std::min(len, i + hi);
        for (std::size_t j = i; j < end; ++j) {
          h ^= static_cast<unsigned char>(normalized[j]);
          h *= kFnvPrime;
          if (j + 1 - i >= lo) {
            out.index.push_back(slot(mix(h)));
            out.value.push_back(v);
          }
        }
      }
    }
  }
  if (options_.use_dataset && !dataset.empty()) {
    const std::uint64_t h = hash_bytes(kSeedDataset, dataset);
    out.index.push_back(slot(h));
    out.value.push_back(1.0f);
    for (std::uint32_t k = 0; k < kDenseFeatureCount; ++k) {
      out.index.push_back(slot(mix(h + 1 + k)));
      out.value.push_back(scale * dense[k]);
    }
  }
}

}  // namespace clearhouse::predict
