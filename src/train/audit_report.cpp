// audit.csv, audit.json and the audit.html page (reference code; see audit_report.hpp). The page has no
// external resources: pictures are data: PNGs (the class examples once each, as CSS rules), the filters a few
// lines of inline JavaScript.
#include "prism/train/audit_report.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "prism/core/io.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/image.hpp"
#include "prism/train/report.hpp"

namespace prism {

namespace {

using json = nlohmann::ordered_json;

constexpr int kSuspectSide = 96, kExampleSide = 64;  // largest side of an inline picture, pixels

json number_or_null(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string score_text(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(v));
  return buf;
}

// The CSV carries the shortest text that reads back as the same float, so two rows print the same score only
// when the scores are equal, and the worst-first order (ties by index) can be checked from the file.
std::string score_csv_text(float v) {
  char buf[32];
  const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  return std::string(buf, end);
}

std::string percent(double v) {
  if (!std::isfinite(v)) return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * v);
  return buf;
}

std::string fixed3(double v) {
  if (!std::isfinite(v)) return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

std::string base64(const std::string& bytes) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += k[v >> 18], out += k[(v >> 12) & 63], out += k[(v >> 6) & 63], out += k[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint8_t(bytes[i]) << 16;
    out += k[v >> 18], out += k[(v >> 12) & 63], out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += k[v >> 18], out += k[(v >> 12) & 63], out += k[(v >> 6) & 63], out += '=';
  }
  return out;
}

// Sample i's preview as a data: URL, shrunk so that its larger side is at most `side` (small pictures such
// as Fashion-MNIST's 28 × 28 stay as they are; the page scales them up without smoothing).
std::string picture_url(const Dataset& d, int64_t i, int side) {
  Image im = d.preview(i);
  if (std::max(im.width, im.height) > side) {
    const double f = static_cast<double>(side) / std::max(im.width, im.height);
    im = resize_image(im, std::max(1, static_cast<int>(std::lround(im.width * f))),
                      std::max(1, static_cast<int>(std::lround(im.height * f))));
  }
  return "data:image/png;base64," + base64(encode_png(im));
}

bool has_pictures(const Dataset& d) {
  if (d.size() == 0) return false;
  try {
    (void)d.preview(0);
    return true;
  } catch (const Error&) {  // feature datasets have no pictures
    return false;
  }
}

int32_t label_value(const AuditReportInput& in, int32_t c) {
  return c >= 0 && static_cast<size_t>(c) < in.label_values.size() ? in.label_values[c] : c;
}

std::string label_text(const AuditReportInput& in, int32_t c) {
  const int32_t v = label_value(in, c);
  std::string s = std::to_string(v);
  if (v >= 0 && static_cast<size_t>(v) < in.class_names.size()) s += " " + in.class_names[v];
  return s;
}

void check(const AuditReportInput& in) {
  if (!in.train || !in.scores || !in.summary) throw Error("audit report: incomplete input");
  const size_t n = static_cast<size_t>(in.train->size());
  if (in.scores->score.size() != n || in.scores->suggested.size() != n || in.scores->flagged.size() != n)
    throw Error("audit report: " + std::to_string(in.scores->score.size()) + " scores for " +
                std::to_string(n) + " samples");
}

}  // namespace

std::vector<std::string> fashion_mnist_class_names() {
  return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
}

// ---- audit.csv ---------------------------------------------------------------------------------------------

std::string audit_csv(const AuditReportInput& in) {
  check(in);
  const Dataset& d = *in.train;
  const LabelScores& s = *in.scores;
  const bool flags = d.has_noise_flags();
  std::string out =
      std::string("index,path,label,suggested_label,score,flagged") + (flags ? ",noisy" : "") + "\n";
  for (int64_t i : audit_order(s.score)) {
    out += std::to_string(i) + ',' + csv_field(d.sample_source(i)) + ',' +
           std::to_string(label_value(in, d.label(i))) + ',' +
           std::to_string(label_value(in, s.suggested[i])) + ',' + score_csv_text(s.score[i]) + ',' +
           (s.flagged[i] ? '1' : '0');
    if (flags) out += std::string(",") + (d.noise_flag(i) ? '1' : '0');
    out += '\n';
  }
  return out;
}

// ---- audit.json --------------------------------------------------------------------------------------------

json audit_json(const AuditReportInput& in) {
  check(in);
  const Dataset& d = *in.train;
  const AuditSummary& s = *in.summary;
  json j;
  j["dataset"] = d.describe();
  j["run_dir"] = in.run_dir;
  j["iteration"] = in.iteration >= 0 ? json(in.iteration) : json(nullptr);
  j["scorer"] = in.scoring.scorer;
  j["k"] = in.scoring.k;
  j["temperature"] = in.scoring.temperature;
  j["flag_ratio"] = in.scoring.flag_ratio;
  j["samples"] = s.samples;
  j["classes"] = d.num_classes();
  j["flagged"] = s.flagged;
  j["estimated_noise_rate"] = s.estimated_noise_rate;
  j["has_noise_flags"] = s.has_noise_flags;
  if (s.has_noise_flags) {
    const DetectionMetrics& m = s.metrics;
    j["noisy"] = m.noisy;
    j["true_noise_rate"] =
        s.samples > 0 ? static_cast<double>(m.noisy) / static_cast<double>(s.samples) : 0.0;
    j["true_positives"] = m.true_positives;
    j["auroc"] = number_or_null(m.auroc);
    j["precision"] = number_or_null(m.precision);
    j["recall"] = number_or_null(m.recall);
    j["f1"] = number_or_null(m.f1);
    json pk = json::array();
    for (const auto& [k, p] : m.precision_at) pk.push_back({{"k", k}, {"precision", number_or_null(p)}});
    j["precision_at_k"] = pk;
  }
  // Per given class: how many samples carry the label and how many of them are flagged.
  std::vector<int64_t> count(d.num_classes(), 0), flagged(d.num_classes(), 0);
  for (int64_t i = 0; i < d.size(); ++i) {
    ++count[d.label(i)];
    flagged[d.label(i)] += in.scores->flagged[i];
  }
  json per = json::array();
  for (int32_t c = 0; c < d.num_classes(); ++c)
    per.push_back({{"label", label_value(in, c)}, {"samples", count[c]}, {"flagged", flagged[c]}});
  j["per_class"] = per;
  return j;
}

// ---- audit.html --------------------------------------------------------------------------------------------

std::string audit_html(const AuditReportInput& in) {
  check(in);
  const Dataset& d = *in.train;
  const LabelScores& s = *in.scores;
  const AuditSummary& sum = *in.summary;
  const std::vector<int64_t> order = audit_order(s.score);
  const int64_t shown = std::clamp<int64_t>(in.show, 0, d.size());
  const bool pictures = has_pictures(d);
  const bool flags = d.has_noise_flags();

  // The classes on the page and, for each, its most typical members: the highest scores among the unflagged
  // samples that carry the label (ties by index, from the end of the worst-first order).
  std::set<int32_t> classes;
  for (int64_t r = 0; r < shown; ++r) {
    classes.insert(d.label(order[r]));
    classes.insert(s.suggested[order[r]]);
  }
  std::map<int32_t, std::vector<int64_t>> examples;
  for (int32_t c : classes) examples[c];
  const size_t want = static_cast<size_t>(std::max<int64_t>(0, in.exemplars));
  size_t full = 0;
  for (auto it = order.rbegin(); it != order.rend() && full < classes.size(); ++it) {
    const int64_t i = *it;
    auto e = examples.find(d.label(i));
    if (e == examples.end() || s.flagged[i] || e->second.size() >= want) continue;
    e->second.push_back(i);
    if (e->second.size() == want) ++full;
  }

  std::ostringstream o;
  o << "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>prism audit: "
    << escape_markup(in.title) << "</title>\n<style>\n"
    << "body{font-family:sans-serif;margin:18px;background:#f6f6f6;color:#222}\n"
       "h1{font-size:22px;margin:0 0 6px}p.meta{margin:2px 0;color:#555}\n"
       "table.m{border-collapse:collapse;margin:10px 0;background:#fff}\n"
       "table.m td,table.m th{border:1px solid #ddd;padding:3px 10px;text-align:right}\n"
       ".filters{margin:12px 0;padding:8px;background:#fff;border:1px solid #ddd;border-radius:6px}\n"
       ".filters label{margin-right:16px}\n"
       ".card{display:flex;align-items:center;gap:18px;background:#fff;border:1px solid "
       "#ddd;border-radius:6px;"
       "padding:8px 10px;margin:8px 0}\n"
       ".card.ok{opacity:.75}\n"
       ".who{display:flex;gap:10px;align-items:center;min-width:330px}\n"
       ".pic{width:84px;height:84px;border:3px solid #d62728;background:#000 center/contain no-repeat;"
       "image-rendering:pixelated}\n"
       ".ok .pic{border-color:#999}\n"
       ".ex{width:56px;height:56px;border:2px solid #ccc;background:#000 center/contain no-repeat;"
       "image-rendering:pixelated;display:inline-block;margin-right:3px}\n"
       ".idx{display:inline-block;min-width:56px;padding:4px;margin-right:3px;background:#eee;font:12px "
       "monospace}\n"
       ".grp{min-width:250px}.cap{font-size:13px;margin-bottom:3px}.given .cap{color:#b22}.sugg "
       ".cap{color:#272}\n"
       ".info{font-size:13px;line-height:1.45}.info b{font-size:14px}.path{color:#777;font-size:11px;"
       "word-break:break-all;max-width:220px}\n"
       ".truth{font-size:12px;padding:1px 5px;border-radius:3px;background:#eee}\n";
  if (pictures)
    for (const auto& [c, members] : examples)
      for (size_t m = 0; m < members.size(); ++m)
        o << ".e" << c << "_" << m << "{background-image:url(" << picture_url(d, members[m], kExampleSide)
          << ")}\n";
  o << "</style></head><body>\n";

  o << "<h1>Label audit: " << escape_markup(in.title) << "</h1>\n";
  o << "<p class=\"meta\">" << escape_markup(d.describe()) << " &middot; " << sum.samples << " samples, "
    << d.num_classes() << " classes &middot; <b>" << sum.flagged << " flagged</b> (estimated noise rate "
    << percent(sum.estimated_noise_rate) << ")</p>\n";
  o << "<p class=\"meta\">scorer <b>" << escape_markup(in.scoring.scorer) << "</b> (";
  if (in.scoring.scorer != "center") o << "k = " << in.scoring.k;
  if (in.scoring.scorer != "knn")
    o << (in.scoring.scorer == "center" ? "" : ", ") << "T = " << in.scoring.temperature;
  o << "): " << escape_markup(in.scorer_summary) << ". A sample is flagged when its label's share is below "
    << in.scoring.flag_ratio
    << " &times; the mean share of its class; the suggestion is then its best-supported other class.";
  if (in.iteration >= 0) o << " Model of iteration " << in.iteration << ".";
  o << "</p>\n";
  if (flags) {
    const DetectionMetrics& m = sum.metrics;
    o << "<table class=\"m\"><tr><th>known "
         "noisy</th><th>AUROC</th><th>precision</th><th>recall</th><th>F1</th>";
    for (const auto& [k, p] : m.precision_at) o << "<th>P@" << k << "</th>";
    o << "</tr>\n<tr><td>" << m.noisy << " ("
      << percent(static_cast<double>(m.noisy) / std::max<int64_t>(1, sum.samples)) << ")</td><td>"
      << fixed3(m.auroc) << "</td><td>" << fixed3(m.precision) << "</td><td>" << fixed3(m.recall)
      << "</td><td>" << fixed3(m.f1) << "</td>";
    for (const auto& [k, p] : m.precision_at) o << "<td>" << fixed3(p) << "</td>";
    o << "</tr></table>\n";
  }

  auto options = [&](const char* id, const char* text) {
    o << "<label>" << text << " <select id=\"" << id << "\"><option value=\"\">all</option>";
    for (int32_t c : classes)
      o << "<option value=\"" << c << "\">" << escape_markup(label_text(in, c)) << "</option>";
    o << "</select></label>";
  };
  o << "<div class=\"filters\">";
  options("fg", "given label");
  options("fs", "suggested label");
  o << "<label><input type=\"checkbox\" id=\"fo\"> flagged only</label><span id=\"count\"></span></div>\n";
  o << "<p class=\"meta\">The " << shown << " lowest scores of " << sum.samples
    << " (all rows, worst first: audit.csv). Beside each suspect: the most typical members of its given and "
       "of its suggested class.</p>\n<div id=\"cards\">\n";

  auto example_row = [&](int32_t c) {
    const auto& members = examples[c];
    if (members.empty()) o << "<span class=\"idx\">none</span>";
    for (size_t m = 0; m < members.size(); ++m) {
      if (pictures)
        o << "<span class=\"ex e" << c << "_" << m << "\" title=\"index " << members[m] << "\"></span>";
      else
        o << "<span class=\"idx\">#" << members[m] << "</span>";
    }
  };
  for (int64_t r = 0; r < shown; ++r) {
    const int64_t i = order[r];
    const int32_t y = d.label(i), sg = s.suggested[i];
    o << "<div class=\"card" << (s.flagged[i] ? "" : " ok") << "\" data-given=\"" << y
      << "\" data-suggested=\"" << sg << "\" data-flagged=\"" << int(s.flagged[i])
      << "\">\n<div class=\"who\">";
    if (pictures)
      o << "<div class=\"pic\" style=\"background-image:url(" << picture_url(d, i, kSuspectSide)
        << ")\"></div>";
    o << "<div class=\"info\"><b>#" << r + 1 << "</b> index " << i << "<br>label <b>"
      << escape_markup(label_text(in, y)) << "</b> &rarr; <b>" << escape_markup(label_text(in, sg))
      << "</b><br>score " << score_text(s.score[i]);
    if (flags)
      o << " <span class=\"truth\">" << (d.noise_flag(i) ? "known noisy" : "known clean") << "</span>";
    o << "<div class=\"path\">" << escape_markup(d.sample_source(i)) << "</div></div></div>\n";
    o << "<div class=\"grp given\"><div class=\"cap\">given " << escape_markup(label_text(in, y)) << "</div>";
    example_row(y);
    o << "</div>\n<div class=\"grp sugg\"><div class=\"cap\">suggested " << escape_markup(label_text(in, sg))
      << "</div>";
    if (sg == y)
      o << "<span class=\"idx\">(same)</span>";
    else
      example_row(sg);
    o << "</div>\n</div>\n";
  }
  o << "</div>\n<script>\n"
       "(function(){\n"
       "  var "
       "fg=document.getElementById('fg'),fs=document.getElementById('fs'),fo=document.getElementById('fo');\n"
       "  var cards=document.querySelectorAll('.card'),count=document.getElementById('count');\n"
       "  function apply(){var n=0;for(var i=0;i<cards.length;i++){var c=cards[i];\n"
       "    var ok=(!fg.value||c.dataset.given===fg.value)&&(!fs.value||c.dataset.suggested===fs.value)&&\n"
       "      (!fo.checked||c.dataset.flagged==='1');c.style.display=ok?'':'none';if(ok)n++;}\n"
       "    count.textContent=' '+n+' of '+cards.length+' shown';}\n"
       "  fg.onchange=fs.onchange=fo.onchange=apply;apply();\n"
       "})();\n</script>\n</body></html>\n";
  return o.str();
}

void write_audit_outputs(const std::string& dir, const AuditReportInput& in) {
  make_directories(dir);
  write_files_atomic({{dir + "/audit.csv", audit_csv(in)},
                      {dir + "/audit.json", audit_json(in).dump(2) + "\n"},
                      {dir + "/audit.html", audit_html(in)}});
}

}  // namespace prism
