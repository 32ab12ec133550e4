#include "eval/curve_fit_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "eval/svg_chart.h"

namespace clearhouse::eval {
namespace {

double median_of(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

std::string params_text(const FitResult& f) {
  std::string s;
  const auto names = parameter_names(f.family);
  for (std::size_t j = 0; j < names.size(); ++j) {
    s += fmt::format("{}{}={:.4g}", j == 0 ? "" : ", ", names[j], f.params[j]);
  }
  return s;
}

std::string curve_label(const CurveFits& c) {
  return c.curve.source + " " + c.curve.name;
}

double final_accuracy(const CurveFits& c) {
  return c.curve.items == 0
             ? 0.0
             : static_cast<double>(c.curve.correct) / static_cast<double>(c.curve.items);
}

}  // namespace

bool is_flat(const Curve& curve) {
  return std::all_of(curve.y.begin(), curve.y.end(), [](double y) { return y == 0; });
}

CurveFits fit_named(NamedCurve curve, const FitOptions& options) {
  CurveFits out;
  out.fits = fit_all(curve.curve, all_families(), options);
  out.winner = best_by_aic(out.fits);
  out.curve = std::move(curve);
  return out;
}

QuestionSummary summarize_questions(std::span<const CurveFits> questions) {
  QuestionSummary s;
  const auto families = all_families();
  s.families.assign(families.begin(), families.end());
  const std::size_t k = families.size();
  s.wins.assign(k, 0);
  s.clear_wins.assign(k, 0);
  std::vector<std::vector<double>> rmse(k), delta(k);
  s.questions = questions.size();
  for (const CurveFits& q : questions) {
    if (is_flat(q.curve.curve)) {
      ++s.flat;
      continue;
    }
    ++s.wins[q.winner];
    double runner_up = std::numeric_limits<double>::infinity();
    for (std::size_t f = 0; f < q.fits.size(); ++f) {
      if (f != q.winner) runner_up = std::min(runner_up, q.fits[f].aic);
    }
    if (runner_up - q.fits[q.winner].aic >= kClearAicGap) {
      ++s.clear_wins[q.winner];
    } else {
      ++s.undecided;
    }
    for (std::size_t f = 0; f < k && f < q.fits.size(); ++f) {
      rmse[f].push_back(q.fits[f].rmse);
      delta[f].push_back(q.fits[f].aic - q.fits[q.winner].aic);
    }
  }
  for (std::size_t f = 0; f < k; ++f) {
    s.median_rmse.push_back(median_of(rmse[f]));
    double sum = 0;
    for (const double r : rmse[f]) sum += r;
    s.mean_rmse.push_back(rmse[f].empty() ? std::nan("")
                                          : sum / static_cast<double>(rmse[f].size()));
    s.median_delta_aic.push_back(median_of(delta[f]));
  }
  return s;
}

std::string fit_summary_markdown(std::span<const CurveFits> curves) {
  std::string out = "| curve | items | acc. at full length | points |";
  std::string rule = "| --- | ---: | ---: | ---: |";
  for (const CurveFamily f : all_families()) {
    out += fmt::format(" {} |", to_string(f));
    rule += " ---: |";
  }
  out += " winner (AIC) |\n" + rule + " --- |\n";
  for (const CurveFits& c : curves) {
    out += fmt::format("| {} | {} | {:.1f}% | {} |", curve_label(c), c.curve.items,
                       100.0 * final_accuracy(c), c.curve.curve.t.size());
    for (std::size_t f = 0; f < c.fits.size(); ++f) {
      const double d = c.fits[f].aic - c.fits[c.winner].aic;
      out += f == c.winner ? fmt::format(" **{:.4f}** |", c.fits[f].rmse)
                           : fmt::format(" {:.4f} (+{:.0f}) |", c.fits[f].rmse, d);
    }
    out += fmt::format(" {} |\n", is_flat(c.curve.curve) ? std::string_view("(flat)")
                                                         : to_string(c.fits[c.winner].family));
  }
  out +=
      "\nCells: RMSE of the fit (in accuracy units, 0.01 = 1 point), and in brackets its AIC minus "
      "the winner's.\n";
  return out;
}

std::string fit_detail_markdown(std::span<const CurveFits> curves) {
  std::string out =
      "| curve | family | RMSE | AIC | ΔAIC | parameters | |\n| --- | --- | ---: | ---: | ---: | "
      "--- "
      "| --- |\n";
  for (const CurveFits& c : curves) {
    for (std::size_t f = 0; f < c.fits.size(); ++f) {
      const FitResult& r = c.fits[f];
      out += fmt::format("| {} | {} | {:.4f} | {:.1f} | {:.1f} | {} | {} |\n", curve_label(c),
                         to_string(r.family), r.rmse, r.aic, r.aic - c.fits[c.winner].aic,
                         params_text(r), f == c.winner ? "winner" : "");
    }
  }
  return out;
}

std::string question_summary_markdown(const QuestionSummary& s) {
  std::string out = fmt::format(
      "{} questions; {} never answered correctly (flat curves, not ranked); {} ranked, of which {} "
      "without a clear winner (no family ahead of all others by ΔAIC >= {:g}).\n\n"
      "| family | clear wins | wins (AIC, first on ties) | median RMSE | mean RMSE | median ΔAIC "
      "|\n| --- | ---: | ---: | ---: | ---: | ---: |\n",
      s.questions, s.flat, s.questions - s.flat, s.undecided, kClearAicGap);
  for (std::size_t f = 0; f < s.families.size(); ++f) {
    out += fmt::format("| {} | {} | {} | {:.4f} | {:.4f} | {:.1f} |\n", to_string(s.families[f]),
                       s.clear_wins[f], s.wins[f], s.median_rmse[f], s.mean_rmse[f],
                       s.median_delta_aic[f]);
  }
  return out;
}

std::string fit_csv(std::span<const CurveFits> curves) {
  std::string out =
      "source,curve,items,correct,points,family,p1_name,p1,p2_name,p2,p3_name,p3,rss,rmse,aic,"
      "delta_aic,winner\n";
  for (const CurveFits& c : curves) {
    for (std::size_t f = 0; f < c.fits.size(); ++f) {
      const FitResult& r = c.fits[f];
      const auto names = parameter_names(r.family);
      out += fmt::format("{},{},{},{},{},{}", c.curve.source, c.curve.name, c.curve.items,
                         c.curve.correct, r.n, to_string(r.family));
      for (std::size_t j = 0; j < names.size(); ++j)
        out += fmt::format(",{},{:.10g}", names[j], r.params[j]);
      out += fmt::format(",{:.10g},{:.10g},{:.10g},{:.10g},{}\n", r.rss, r.rmse, r.aic,
                         r.aic - c.fits[c.winner].aic, f == c.winner ? 1 : 0);
    }
  }
  return out;
}

std::string points_csv(std::span<const CurveFits> curves) {
  std::string out = "source,curve,t,y\n";
  for (const CurveFits& c : curves) {
    for (std::size_t i = 0; i < c.curve.curve.t.size(); ++i) {
      out += fmt::format("{},{},{:.6g},{:.10g}\n", c.curve.source, c.curve.name, c.curve.curve.t[i],
                         c.curve.curve.y[i]);
    }
  }
  return out;
}

nlohmann::json fit_json(const CurveFits& c) {
  nlohmann::json fits = nlohmann::json::array();
  for (const FitResult& r : c.fits) {
    nlohmann::json params = nlohmann::json::object();
    const auto names = parameter_names(r.family);
    for (std::size_t j = 0; j < names.size(); ++j) params[std::string(names[j])] = r.params[j];
    fits.push_back({{"family", to_string(r.family)},
                    {"params", params},
                    {"rss", r.rss},
                    {"rmse", r.rmse},
                    {"aic", r.aic},
                    {"delta_aic", r.aic - c.fits[c.winner].aic},
                    {"converged", r.converged}});
  }
  return {{"source", c.curve.source},
          {"curve", c.curve.name},
          {"items", c.curve.items},
          {"correct", c.curve.correct},
          {"t", c.curve.curve.t},
          {"y", c.curve.curve.y},
          {"fits", fits},
          {"winner", is_flat(c.curve.curve) ? nlohmann::json(nullptr)
                                            : nlohmann::json(to_string(c.fits[c.winner].family))}};
}

nlohmann::json question_summary_json(const QuestionSummary& s) {
  nlohmann::json families = nlohmann::json::array();
  for (std::size_t f = 0; f < s.families.size(); ++f) {
    families.push_back({{"family", to_string(s.families[f])},
                        {"wins", s.wins[f]},
                        {"clear_wins", s.clear_wins[f]},
                        {"median_rmse", s.median_rmse[f]},
                        {"mean_rmse", s.mean_rmse[f]},
                        {"median_delta_aic", s.median_delta_aic[f]}});
  }
  return {{"questions", s.questions},
          {"flat", s.flat},
          {"undecided", s.undecided},
          {"families", families}};
}

std::string fit_svg(const CurveFits& c, const std::string& title) {
  static constexpr std::array<const char*, 7> kColors{"#d62728", "#e377c2", "#ff7f0e", "#1f77b4",
                                                      "#2ca02c", "#9467bd", "#8c564b"};
  const auto& t = c.curve.curve.t;
  const auto& y = c.curve.curve.y;
  const double x_lo = std::log(t.front()), x_hi = std::log(t.back());
  double largest = 0.0;
  for (const double v : y) largest = std::max(largest, v);
  SvgChart chart(title, SvgChart::Layout{760, 460, 60, 230, 40, 55});
  chart.set_y_max(percent_axis_max(largest));
  const double y_max = chart.y_max();
  auto px = [&](double tokens) {
    return chart.x_position((std::log(tokens) - x_lo) / (x_hi - x_lo));
  };
  chart.y_grid_percent(5);
  // x ticks at powers of two inside the range
  for (double tick = std::exp2(std::ceil(std::log2(t.front()))); tick <= t.back() * 1.0001;
       tick *= 2) {
    chart.x_tick(px(tick), fmt::format("{:.0f}", tick));
  }
  chart.frame("output-token cap t (log scale)", "share correct within t");
  const std::vector<double> dense = geometric_grid(t.front(), t.back(), 240);
  for (std::size_t f = 0; f < c.fits.size(); ++f) {
    const FitResult& r = c.fits[f];
    const char* color = kColors[f % kColors.size()];
    std::vector<std::pair<double, double>> points;
    for (const double x : dense) {
      const double v = std::clamp(evaluate(r.family, r.params, x), -0.1 * y_max, 1.1 * y_max);
      points.emplace_back(px(x), chart.y_position(v));
    }
    const bool winner = f == c.winner;
    chart.polyline(points, color, winner ? 2.5 : 1.6,
                   r.family == CurveFamily::kSurgePhi || winner ? "" : " stroke-opacity=\"0.8\"");
    chart.legend_line(f, fmt::format("{} RMSE {:.3f}", to_string(r.family), r.rmse), color,
                      winner ? " font-weight=\"bold\"" : "");
  }
  for (std::size_t i = 0; i < t.size(); ++i)
    chart.marker(px(t[i]), chart.y_position(y[i]), "black", 2.6);
  chart.legend_dot(c.fits.size(), fmt::format("empirical ({} items)", c.curve.items), "black");
  return chart.finish();
}

}  // namespace clearhouse::eval
