// GatewayMetrics and the Prometheus layer under it: the rendered body is checked line by line
// against the text exposition format 0.0.4 by a small independent checker, counts from many threads
// add up exactly, label values are escaped, and no label can carry a client's key.
#include "gateway/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "metrics/prometheus.h"

namespace clearhouse::gateway {
namespace {

// The gateway's route labels, in its route table's order, "other" last.
const std::vector<std::string> kRoutes = {"chat_completions", "completions", "models", "health",
                                          "metrics",          "admin_state", "other"};

// ---- A checker for the exposition format, written from the format's description. ----

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;  // unescaped values
  double value = 0.0;
};

struct Exposition {
  std::vector<Sample> samples;
  std::map<std::string, std::string> types;  // family -> type
  std::vector<std::string> problems;         // empty when the text is valid

  // The value of the one sample with this name and exactly these labels.
  [[nodiscard]] std::optional<double> value(
      const std::string& name, const std::map<std::string, std::string>& labels) const {
    for (const Sample& s : samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
    return std::nullopt;
  }
};

bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool is_name_char(char c) {
  return is_name_start(c) || std::isdigit(static_cast<unsigned char>(c));
}

bool is_metric_name(const std::string& name) {
  return !name.empty() && is_name_start(name[0]) &&
         std::all_of(name.begin(), name.end(), is_name_char);
}

std::optional<double> parse_value(const std::string& text) {
  if (text == "+Inf") return INFINITY;
  if (text == "-Inf") return -INFINITY;
  if (text == "NaN") return NAN;
  if (text.empty()) return std::nullopt;
  std::size_t used = 0;
  try {
    const double v = std::stod(text, &used);
    if (used != text.size()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Parses `name{a="x",b="y"} value`; returns an error message or "".
std::string parse_sample(const std::string& line, Sample& sample) {
  std::size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
  sample.name = line.substr(0, i);
  if (!is_metric_name(sample.name)) return "bad metric name";
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const std::size_t start = i;
      while (i < line.size() && line[i] != '=') ++i;
      const std::string label = line.substr(start, i - start);
      if (!is_metric_name(label) || label.find(':') != std::string::npos) return "bad label name";
      if (i + 1 >= line.size() || line[i + 1] != '"') return "label value not quoted";
      i += 2;
      std::string value;
      while (i < line.size() && line[i] != '"') {
        if (line[i] == '\\') {
          if (i + 1 >= line.size()) return "dangling escape";
          const char e = line[i + 1];
          if (e == 'n')
            value += '\n';
          else if (e == '\\' || e == '"')
            value += e;
          else
            return "unknown escape";
          i += 2;
        } else {
          value += line[i++];
        }
      }
      if (i >= line.size()) return "unterminated label value";
      ++i;  // closing quote
      if (!sample.labels.emplace(label, value).second) return "repeated label";
      if (i < line.size() && line[i] == ',')
        ++i;
      else if (i < line.size() && line[i] != '}')
        return "junk after label value";
    }
    if (i >= line.size()) return "unterminated label set";
    ++i;  // '}'
  }
  if (i >= line.size() || line[i] != ' ') return "no space before the value";
  const std::optional<double> value = parse_value(line.substr(i + 1));
  if (!value) return "bad value";
  sample.value = *value;
  return "";
}

std::string family_of(const std::string& sample_name,
                      const std::map<std::string, std::string>& types) {
  if (types.count(sample_name)) return sample_name;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (sample_name.size() > s.size() && sample_name.ends_with(s)) {
      const std::string base = sample_name.substr(0, sample_name.size() - s.size());
      if (types.count(base) && types.at(base) == "histogram") return base;
    }
  }
  return "";
}

void check_histograms(Exposition& e) {
  // Per histogram series (labels without le): buckets in order, cumulative, +Inf == _count, _sum.
  struct Series {
    std::vector<std::pair<double, double>> buckets;  // le, count
    std::optional<double> sum, count;
  };
  std::map<std::string, Series> series;
  for (const Sample& s : e.samples) {
    const std::string family = family_of(s.name, e.types);
    if (e.types[family] != "histogram") continue;
    std::map<std::string, std::string> labels = s.labels;
    labels.erase("le");
    std::ostringstream key;
    key << family;
    for (const auto& [k, v] : labels) key << '|' << k << '=' << v;
    Series& h = series[key.str()];
    if (s.name == family + "_bucket") {
      const auto le = s.labels.find("le");
      if (le == s.labels.end()) {
        e.problems.push_back(key.str() + ": bucket without le");
        continue;
      }
      h.buckets.emplace_back(parse_value(le->second).value_or(NAN), s.value);
    } else if (s.name == family + "_sum") {
      h.sum = s.value;
    } else if (s.name == family + "_count") {
      h.count = s.value;
    } else {
      e.problems.push_back(s.name + ": not a histogram sample");
    }
  }
  for (const auto& [key, h] : series) {
    if (h.buckets.empty() || !std::isinf(h.buckets.back().first)) {
      e.problems.push_back(key + ": last bucket is not +Inf");
      continue;
    }
    for (std::size_t i = 1; i < h.buckets.size(); ++i) {
      if (!(h.buckets[i].first > h.buckets[i - 1].first))
        e.problems.push_back(key + ": le not increasing");
      if (h.buckets[i].second < h.buckets[i - 1].second)
        e.problems.push_back(key + ": not cumulative");
    }
    if (!h.sum) e.problems.push_back(key + ": no _sum");
    if (!h.count)
      e.problems.push_back(key + ": no _count");
    else if (*h.count != h.buckets.back().second)
      e.problems.push_back(key + ": +Inf != _count");
  }
}

Exposition parse_exposition(const std::string& text) {
  Exposition e;
  if (!text.empty() && text.back() != '\n')
    e.problems.push_back("body does not end with a newline");
  std::istringstream lines(text);
  std::string line;
  std::set<std::string> helped, finished_families;
  std::string current;  // the family whose samples may follow
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    const std::string where = "line " + std::to_string(number) + " '" + line + "': ";
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      const bool is_help = line[2] == 'H';
      const std::string rest = line.substr(7);
      const std::string name = rest.substr(0, rest.find(' '));
      if (!is_metric_name(name)) e.problems.push_back(where + "bad family name");
      if (finished_families.count(name)) e.problems.push_back(where + "family split in two");
      if (!current.empty() && current != name) finished_families.insert(current);
      current = name;
      if (is_help) {
        if (!helped.insert(name).second) e.problems.push_back(where + "second HELP");
      } else {
        const std::string type =
            rest.find(' ') == std::string::npos ? "" : rest.substr(rest.find(' ') + 1);
        if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
            type != "untyped") {
          e.problems.push_back(where + "unknown type");
        }
        if (!e.types.emplace(name, type).second) e.problems.push_back(where + "second TYPE");
      }
      continue;
    }
    if (line[0] == '#') continue;  // a comment
    Sample sample;
    if (const std::string error = parse_sample(line, sample); !error.empty()) {
      e.problems.push_back(where + error);
      continue;
    }
    const std::string family = family_of(sample.name, e.types);
    if (family.empty() || family != current) e.problems.push_back(where + "sample before its TYPE");
    if (!helped.count(family)) e.problems.push_back(where + "sample without HELP");
    if (e.types[family] == "counter" && !sample.name.ends_with("_total")) {
      e.problems.push_back(where + "counter not named _total");
    }
    e.samples.push_back(std::move(sample));
  }
  check_histograms(e);
  return e;
}

std::string problems_of(const Exposition& e) {
  std::string all;
  for (const std::string& p : e.problems) all += p + "\n";
  return all;
}

// ---- The checker itself catches what it should. ----

TEST(PrometheusChecker, RejectsMalformedText) {
  const std::string ok =
      "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n"
      "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1.5\n"
      "h_count 2\n";
  EXPECT_EQ(problems_of(parse_exposition(ok)), "");
  EXPECT_NE(problems_of(parse_exposition("a_total 1\n")), "");  // no TYPE
  EXPECT_NE(problems_of(parse_exposition("# HELP a A.\n# TYPE a gauge\na{x=\"1} 1\n")), "");
  EXPECT_NE(problems_of(parse_exposition("# HELP a A.\n# TYPE a gauge\na one\n")), "");
  const std::string not_cumulative =
      "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\n"
      "h_count 2\n";
  EXPECT_NE(problems_of(parse_exposition(not_cumulative)), "");
  const std::string count_differs =
      "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\n"
      "h_count 3\n";
  EXPECT_NE(problems_of(parse_exposition(count_differs)), "");
  const std::string no_inf =
      "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n";
  EXPECT_NE(problems_of(parse_exposition(no_inf)), "");
}

// ---- The generic layer. ----

TEST(Prometheus, HistogramBucketsAreInclusiveAndDropNaN) {
  static constexpr std::array<double, 3> kBounds = {0.1, 1, 10};
  prometheus::Histogram h(kBounds);
  h.observe(0.1);  // on a bound: counts in that bucket (le means <=)
  h.observe(0.5);
  h.observe(1000);  // +Inf bucket
  h.observe(-2);    // counted as 0
  h.observe(NAN);   // dropped
  const prometheus::HistogramSnapshot s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{2, 3, 3, 4}));
  EXPECT_EQ(s.count(), 4u);
  EXPECT_DOUBLE_EQ(s.sum, 1000.6);
}

TEST(Prometheus, ValuesReadBackExactly) {
  for (const double v : {0.0, 1.0, 0.1, 1e-300, 123456789.125, -2.5, 1.0 / 3.0}) {
    EXPECT_EQ(std::stod(prometheus::format_value(v)), v) << prometheus::format_value(v);
  }
  EXPECT_EQ(prometheus::format_value(INFINITY), "+Inf");
  EXPECT_EQ(prometheus::format_value(-INFINITY), "-Inf");
  EXPECT_EQ(prometheus::format_value(NAN), "NaN");
}

TEST(Prometheus, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(prometheus::escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(prometheus::escape_help("x\\y\n\"z\""), "x\\\\y\\n\"z\"");
  prometheus::DoubleCounter usd;
  usd.add(0.25);
  usd.add(-1);  // counters never go down
  usd.add(NAN);
  EXPECT_EQ(usd.value(), 0.25);
}

// ---- The gateway's catalogue. ----

using Labels = std::map<std::string, std::string>;

TEST(GatewayMetrics, RendersAValidExpositionWithEveryFamily) {
  GatewayMetrics m(kRoutes, {"vllm", "openai", "vllm"});
  m.count_request("chat_completions", 200);
  m.count_request("chat_completions", 200);
  m.count_request("completions", 429);
  m.count_request("other", 404);
  m.count_request("models", 42);  // not an HTTP status
  m.observe_request_seconds("chat_completions", 0.3);
  m.observe_request_seconds("chat_completions", 700);
  m.observe_added_seconds(0.00004);
  m.observe_added_seconds(0.002);
  m.observe_upstream_seconds("vllm", 0.29);
  m.count_upstream_error("openai", "timeout");
  m.count_upstream_protocol_error("vllm");
  m.count_upstream_protocol_error("vllm");
  m.count_ledger_close_failure();
  m.add_tokens_reserved(512);
  m.add_tokens_used(200);
  m.add_reasoning_tokens(120);
  m.add_tokens_released(312);
  m.count_abandoned("reject");
  m.count_budget_rejection();
  m.add_payment_usd("openai", 0.125);
  m.count_upstream_retry("openai");
  m.stream_opened();
  m.stream_opened();
  m.stream_closed();
  HealthSnapshot openai_down;
  openai_down.state = CircuitState::kOpen;
  openai_down.consecutive_failures = 3;
  openai_down.transitions = {0, 2, 1};  // closed, open, half_open
  const std::string body =
      m.render({.shadow_price = 0.0025,
                .allowance_tokens = 300.5,
                .budget_tokens = 1'000'000,
                .budget_remaining_tokens = 400'000,
                .reserved_tokens = 512,
                .open_reservations = 1,
                .in_flight_requests = 3,
                .usage_ratio = 0.97,
                .ledger_unapplied_writes = 42,
                .ledger_apply_failures = 2,
                .upstream_health = {{"vllm", HealthSnapshot{}}, {"openai", openai_down}}});
  const Exposition e = parse_exposition(body);
  ASSERT_EQ(problems_of(e), "") << body;

  for (const auto& [name, type] : e.types) {
    EXPECT_TRUE(name.starts_with("clearhouse_")) << name;
    if (type == "counter") {
      EXPECT_TRUE(name.ends_with("_total")) << name;
    }
  }
  EXPECT_EQ(e.types.size(), 30u);
  EXPECT_EQ(e.value("clearhouse_reasoning_tokens_total", {}), 120);
  EXPECT_EQ(e.value("clearhouse_upstream_protocol_errors_total", {{"upstream", "vllm"}}), 2);
  EXPECT_EQ(e.value("clearhouse_upstream_protocol_errors_total", {{"upstream", "openai"}}), 0);
  EXPECT_EQ(e.value("clearhouse_ledger_close_failures_total", {}), 1);
  EXPECT_EQ(e.value("clearhouse_upstream_retries_total", {{"upstream", "openai"}}), 1);
  EXPECT_EQ(e.value("clearhouse_upstream_retries_total", {{"upstream", "vllm"}}), 0);
  EXPECT_EQ(e.value("clearhouse_upstream_up", {{"upstream", "vllm"}}), 1);
  EXPECT_EQ(e.value("clearhouse_upstream_up", {{"upstream", "openai"}}), 0);
  EXPECT_EQ(e.value("clearhouse_upstream_consecutive_failures", {{"upstream", "openai"}}), 3);
  EXPECT_EQ(e.value("clearhouse_upstream_circuit_transitions_total",
                    {{"upstream", "openai"}, {"state", "open"}}),
            2);
  EXPECT_EQ(e.value("clearhouse_upstream_circuit_transitions_total",
                    {{"upstream", "openai"}, {"state", "half_open"}}),
            1);
  EXPECT_EQ(e.value("clearhouse_upstream_circuit_transitions_total",
                    {{"upstream", "vllm"}, {"state", "closed"}}),
            0);
  EXPECT_EQ(e.value("clearhouse_ledger_unapplied_writes", {}), 42);
  EXPECT_EQ(e.value("clearhouse_ledger_apply_failures_total", {}), 2);
  EXPECT_EQ(e.value("clearhouse_requests_total", {{"route", "chat_completions"}, {"code", "200"}}),
            2);
  EXPECT_EQ(e.value("clearhouse_requests_total", {{"route", "completions"}, {"code", "429"}}), 1);
  EXPECT_EQ(e.value("clearhouse_requests_total", {{"route", "other"}, {"code", "404"}}), 1);
  EXPECT_EQ(e.value("clearhouse_requests_total", {{"route", "models"}, {"code", "other"}}), 1);
  EXPECT_EQ(e.value("clearhouse_request_duration_seconds_count", {{"route", "chat_completions"}}),
            2);
  EXPECT_EQ(e.value("clearhouse_request_duration_seconds_bucket",
                    {{"route", "chat_completions"}, {"le", "600"}}),
            1);
  EXPECT_EQ(e.value("clearhouse_request_duration_seconds_bucket",
                    {{"route", "chat_completions"}, {"le", "0.0001"}}),
            0);
  EXPECT_EQ(e.value("clearhouse_request_duration_seconds_count", {{"route", "health"}}), 0);
  EXPECT_EQ(e.value("clearhouse_added_latency_seconds_bucket", {{"le", "0.00005"}}), 1);
  EXPECT_EQ(e.value("clearhouse_added_latency_seconds_bucket", {{"le", "0.1"}}), 2);
  EXPECT_EQ(e.value("clearhouse_upstream_duration_seconds_count", {{"upstream", "vllm"}}), 1);
  EXPECT_EQ(e.value("clearhouse_upstream_duration_seconds_count", {{"upstream", "openai"}}), 0);
  EXPECT_EQ(
      e.value("clearhouse_upstream_errors_total", {{"upstream", "openai"}, {"kind", "timeout"}}),
      1);
  EXPECT_EQ(
      e.value("clearhouse_upstream_errors_total", {{"upstream", "vllm"}, {"kind", "connect"}}), 0);
  EXPECT_EQ(e.value("clearhouse_upstream_payment_usd_total", {{"upstream", "openai"}}), 0.125);
  EXPECT_EQ(e.value("clearhouse_tokens_reserved_total", {}), 512);
  EXPECT_EQ(e.value("clearhouse_tokens_used_total", {}), 200);
  EXPECT_EQ(e.value("clearhouse_tokens_released_total", {}), 312);
  EXPECT_EQ(e.value("clearhouse_abandoned_requests_total", {{"action", "reject"}}), 1);
  EXPECT_EQ(e.value("clearhouse_abandoned_requests_total", {{"action", "degrade"}}), 0);
  EXPECT_EQ(e.value("clearhouse_budget_rejections_total", {}), 1);
  EXPECT_EQ(e.value("clearhouse_open_streams", {}), 1);
  EXPECT_EQ(e.value("clearhouse_shadow_price", {}), 0.0025);
  EXPECT_EQ(e.value("clearhouse_allowance_tokens", {}), 300.5);
  EXPECT_EQ(e.value("clearhouse_budget_tokens", {}), 1'000'000);
  EXPECT_EQ(e.value("clearhouse_budget_remaining_tokens", {}), 400'000);
  EXPECT_EQ(e.value("clearhouse_reserved_tokens", {}), 512);
  EXPECT_EQ(e.value("clearhouse_open_reservations", {}), 1);
  EXPECT_EQ(e.value("clearhouse_in_flight_requests", {}), 3);
  EXPECT_EQ(e.value("clearhouse_usage_ratio", {}), 0.97);
  // The duplicate "vllm" in the constructor made one series.
  int vllm_payment_series = 0;
  for (const Sample& s : e.samples) {
    vllm_payment_series +=
        s.name == "clearhouse_upstream_payment_usd_total" && s.labels.at("upstream") == "vllm";
  }
  EXPECT_EQ(vllm_payment_series, 1);
}

TEST(GatewayMetrics, CountsFromManyThreadsAddUpExactly) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 10'000;
  GatewayMetrics m(kRoutes, {"declared"});
  std::atomic<bool> stop_scraping{false};
  std::vector<std::string> scrape_problems;
  // A scraper renders while the counts move; every body must still be valid.
  std::thread scraper([&] {
    while (!stop_scraping.load()) {
      const Exposition e = parse_exposition(m.render({}));
      if (!e.problems.empty()) scrape_problems.push_back(problems_of(e));
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, t] {
      // Half the threads use an upstream first seen at run time (the locked path), concurrently.
      const std::string upstream = t % 2 == 0 ? "declared" : "added";
      for (int i = 0; i < kPerThread; ++i) {
        m.count_request("chat_completions", 200);
        m.observe_request_seconds("chat_completions", 0.25);
        m.observe_added_seconds(0.001);
        m.observe_upstream_seconds(upstream, 0.5);
        m.count_upstream_error(upstream, "status");
        m.add_tokens_used(3);
        m.add_payment_usd(upstream, 0.5);
        m.stream_opened();
        m.stream_closed();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  stop_scraping = true;
  scraper.join();
  EXPECT_TRUE(scrape_problems.empty()) << scrape_problems.front();

  const Exposition e = parse_exposition(m.render({}));
  ASSERT_EQ(problems_of(e), "");
  constexpr double kAll = kThreads * kPerThread;
  constexpr double kHalf = kAll / 2;
  EXPECT_EQ(e.value("clearhouse_requests_total", {{"route", "chat_completions"}, {"code", "200"}}),
            kAll);
  EXPECT_EQ(e.value("clearhouse_request_duration_seconds_count", {{"route", "chat_completions"}}),
            kAll);
  EXPECT_EQ(e.value("clearhouse_request_duration_seconds_sum", {{"route", "chat_completions"}}),
            kAll * 0.25);  // exact: sums of quarters are exact in a double at this size
  EXPECT_EQ(e.value("clearhouse_added_latency_seconds_count", {}), kAll);
  EXPECT_EQ(e.value("clearhouse_tokens_used_total", {}), 3 * kAll);
  EXPECT_EQ(e.value("clearhouse_open_streams", {}), 0);
  for (const std::string upstream : {"declared", "added"}) {
    EXPECT_EQ(e.value("clearhouse_upstream_duration_seconds_count", {{"upstream", upstream}}),
              kHalf);
    EXPECT_EQ(
        e.value("clearhouse_upstream_errors_total", {{"upstream", upstream}, {"kind", "status"}}),
        kHalf);
    EXPECT_EQ(e.value("clearhouse_upstream_payment_usd_total", {{"upstream", upstream}}),
              kHalf * 0.5);
  }
}

TEST(GatewayMetrics, EscapesOperatorNamedUpstreams) {
  const std::string odd = "eu \"west\"\\1\nb";
  GatewayMetrics m({odd});
  m.count_upstream_error(odd, "connect");
  const std::string body = m.render({});
  EXPECT_NE(body.find(R"(upstream="eu \"west\"\\1\nb")"), std::string::npos) << body;
  const Exposition e = parse_exposition(body);
  ASSERT_EQ(problems_of(e), "") << body;
  EXPECT_EQ(e.value("clearhouse_upstream_errors_total", {{"upstream", odd}, {"kind", "connect"}}),
            1);
}

TEST(GatewayMetrics, LabelsComeOnlyFromFixedSetsAndUpstreamNames) {
  GatewayMetrics m(kRoutes, {"vllm"});
  for (const std::string& route : kRoutes) m.count_request(route, 200);
  m.count_upstream_error("vllm", "protocol");
  m.count_abandoned("degrade");
  const Exposition e = parse_exposition(m.render({}));
  ASSERT_EQ(problems_of(e), "");
  const std::set<std::string> allowed = {"route", "code", "le", "upstream", "kind", "action"};
  for (const Sample& s : e.samples) {
    for (const auto& [label, value] : s.labels) {
      EXPECT_TRUE(allowed.count(label)) << s.name << " has label " << label;
      if (label == "route") {
        EXPECT_NE(std::find(kRoutes.begin(), kRoutes.end(), value), kRoutes.end());
      }
    }
  }
}

TEST(GatewayMetrics, UndeclaredUpstreamsAreBounded) {
  GatewayMetrics m(kRoutes);
  for (std::size_t i = 0; i < 2 * kMaxUpstreamSeries; ++i) {
    m.count_upstream_error("u" + std::to_string(i), "connect");
  }
  const Exposition e = parse_exposition(m.render({}));
  ASSERT_EQ(problems_of(e), "");
  std::set<std::string> upstreams;
  for (const Sample& s : e.samples) {
    if (s.labels.count("upstream")) upstreams.insert(s.labels.at("upstream"));
  }
  EXPECT_EQ(upstreams.size(), kMaxUpstreamSeries);
  EXPECT_TRUE(upstreams.count("overflow"));
  EXPECT_EQ(
      e.value("clearhouse_upstream_errors_total", {{"upstream", "overflow"}, {"kind", "connect"}}),
      static_cast<double>(kMaxUpstreamSeries + 1));
}

}  // namespace
}  // namespace clearhouse::gateway
