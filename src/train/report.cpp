// SVG line plots and the PNG retrieval gallery (reference code; no plotting library, stb_image_write for
// PNG).
#include "prism/train/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "prism/core/io.hpp"
#include "prism/core/runtime.hpp"

#include <stb_image_write.h>

namespace prism {

namespace {
const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                         "#9467bd", "#8c564b", "#e377c2", "#17becf"};

// "Nice" tick step (1, 2 or 5 × 10^k) giving about `target` ticks over [lo, hi].
double tick_step(double lo, double hi, int target) {
  double raw = (hi - lo) / std::max(target, 1);
  if (!(raw > 0)) return 1.0;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double r = raw / mag;
  return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

std::string fmt(double v) {
  char buf[32];
  if (std::fabs(v) < 1e-12) v = 0;  // no "-0" tick labels
  if (std::fabs(v) >= 1e4 || (std::fabs(v) < 1e-3 && v != 0))
    std::snprintf(buf, sizeof buf, "%.2g", v);
  else
    std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}
}  // namespace

std::string escape_markup(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

std::string line_plot_svg(const std::string& title, const std::string& x_label, const std::string& y_label,
                          const std::vector<PlotSeries>& series, double x_include_lo, double x_include_hi) {
  // The legend sits under the x-axis label, one entry per line, so long names never cover the curves.
  const double legend_line = 17;
  const double W = 640, left = 70, right = 20, top = 40;
  const double bottom = 50 + legend_line * static_cast<double>(series.size()) + 6;
  const double H = 340 + bottom;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i]) || !std::isfinite(s.x[i])) continue;
      const double e = i < s.err.size() && std::isfinite(s.err[i]) ? std::fabs(s.err[i]) : 0.0;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i] - e), y1 = std::max(y1, s.y[i] + e);
    }
  if (!(x0 <= x1)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (std::isfinite(x_include_lo)) x0 = std::min(x0, x_include_lo);
  if (std::isfinite(x_include_hi)) x1 = std::max(x1, x_include_hi);
  if (x1 == x0) x0 -= 0.5, x1 += 0.5;  // a single x in the middle, not on the frame
  if (y1 == y0) y0 -= 0.5, y1 += 0.5;
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad, y1 += pad;
  auto X = [&](double v) { return left + (v - x0) / (x1 - x0) * (W - left - right); };
  auto Y = [&](double v) { return H - bottom - (v - y0) / (y1 - y0) * (H - top - bottom); };

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 "
    << W << ' ' << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"" << W / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" << escape_markup(title)
    << "</text>\n";
  const double xs = tick_step(x0, x1, 8), ys = tick_step(y0, y1, 6);
  for (double t = std::ceil(x0 / xs) * xs; t <= x1 + 1e-9 * xs; t += xs)
    o << "<line x1=\"" << X(t) << "\" y1=\"" << top << "\" x2=\"" << X(t) << "\" y2=\"" << H - bottom
      << "\" stroke=\"#e5e5e5\"/><text x=\"" << X(t) << "\" y=\"" << H - bottom + 16
      << "\" text-anchor=\"middle\">" << fmt(t) << "</text>\n";
  for (double t = std::ceil(y0 / ys) * ys; t <= y1 + 1e-9 * ys; t += ys)
    o << "<line x1=\"" << left << "\" y1=\"" << Y(t) << "\" x2=\"" << W - right << "\" y2=\"" << Y(t)
      << "\" stroke=\"#e5e5e5\"/><text x=\"" << left - 6 << "\" y=\"" << Y(t) + 4 << "\" text-anchor=\"end\">"
      << fmt(t) << "</text>\n";
  o << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << W - left - right << "\" height=\""
    << H - top - bottom << "\" fill=\"none\" stroke=\"#333\"/>\n";
  o << "<text x=\"" << (left + W - right) / 2 << "\" y=\"" << H - bottom + 36 << "\" text-anchor=\"middle\">"
    << escape_markup(x_label) << "</text>\n";
  o << "<text transform=\"translate(16," << (top + H - bottom) / 2
    << ") rotate(-90)\" text-anchor=\"middle\">" << escape_markup(y_label) << "</text>\n";
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const char* color = kColors[k % (sizeof kColors / sizeof *kColors)];
    std::ostringstream pts;
    size_t count = 0;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i]) || !std::isfinite(s.x[i])) continue;
      pts << X(s.x[i]) << ',' << Y(s.y[i]) << ' ';
      ++count;
    }
    for (size_t i = 0; i < s.err.size() && i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i]) || !std::isfinite(s.x[i])) continue;
      const double e = std::isfinite(s.err[i]) ? std::fabs(s.err[i]) : 0.0;
      if (e > 0) {  // a vertical bar with caps
        const double x = X(s.x[i]), lo = Y(s.y[i] - e), hi = Y(s.y[i] + e);
        o << "<path d=\"M" << x << ',' << lo << "V" << hi << "M" << x - 4 << ',' << lo << "h8M" << x - 4
          << ',' << hi << "h8\" stroke=\"" << color << "\" stroke-width=\"1.2\" fill=\"none\"/>\n";
      }
      if (count > 1)
        o << "<circle cx=\"" << X(s.x[i]) << "\" cy=\"" << Y(s.y[i]) << "\" r=\"2.5\" fill=\"" << color
          << "\"/>\n";
    }
    if (count == 1) {
      std::string p = pts.str();
      o << "<circle cx=\"" << p.substr(0, p.find(',')) << "\" cy=\"" << p.substr(p.find(',') + 1)
        << "\" r=\"3\" fill=\"" << color << "\"/>\n";
    } else if (count > 1) {
      o << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.6\" points=\"" << pts.str()
        << "\"/>\n";
    }
    const double ly = H - bottom + 50 + legend_line * static_cast<double>(k);
    o << "<line x1=\"" << left << "\" y1=\"" << ly - 4 << "\" x2=\"" << left + 22 << "\" y2=\"" << ly - 4
      << "\" stroke=\"" << color << "\" stroke-width=\"2\"/><text x=\"" << left + 28 << "\" y=\"" << ly
      << "\">" << escape_markup(s.name) << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

void write_line_plot_svg(const std::string& path, const std::string& title, const std::string& x_label,
                         const std::string& y_label, const std::vector<PlotSeries>& series) {
  write_file_atomic(path, line_plot_svg(title, x_label, y_label, series));
}

void write_gallery_png(const std::string& path, const std::vector<GalleryRow>& rows, int cell) {
  if (rows.empty()) throw Error("write_gallery_png: no rows for '" + path + "'");
  const int border = 3, gap = cell / 2;
  size_t max_results = 0;
  for (const auto& r : rows) max_results = std::max(max_results, r.results.size());
  const int width = static_cast<int>(cell * (1 + max_results) + gap + 2 * border);
  const int height = static_cast<int>(cell * rows.size() + 2 * border);
  std::vector<uint8_t> canvas(static_cast<size_t>(width) * height * 3, 255);

  auto blit = [&](const RgbImage& img, int x0, int y0, const uint8_t frame[3]) {
    for (int y = 0; y < cell; ++y)
      for (int x = 0; x < cell; ++x) {
        uint8_t* px = &canvas[(static_cast<size_t>(y0 + y) * width + x0 + x) * 3];
        const bool on_frame = x < border || y < border || x >= cell - border || y >= cell - border;
        if (on_frame) {
          px[0] = frame[0], px[1] = frame[1], px[2] = frame[2];
        } else if (img.width > 0 && img.height > 0) {
          const int inner = cell - 2 * border;
          const int sx = std::min(img.width - 1, (x - border) * img.width / inner);
          const int sy = std::min(img.height - 1, (y - border) * img.height / inner);
          const uint8_t* s = &img.rgb[(static_cast<size_t>(sy) * img.width + sx) * 3];
          px[0] = s[0], px[1] = s[1], px[2] = s[2];
        }
      }
  };
  const uint8_t grey[3] = {128, 128, 128}, green[3] = {0, 170, 0}, red[3] = {220, 0, 0};
  for (size_t r = 0; r < rows.size(); ++r) {
    const int y0 = border + static_cast<int>(r) * cell;
    blit(rows[r].query, border, y0, grey);
    for (size_t k = 0; k < rows[r].results.size(); ++k) {
      const bool ok = k < rows[r].correct.size() && rows[r].correct[k];
      blit(rows[r].results[k], border + cell + gap + static_cast<int>(k) * cell, y0, ok ? green : red);
    }
  }
  std::string png;
  stbi_write_png_to_func(
      [](void* ctx, void* data, int size) {
        static_cast<std::string*>(ctx)->append(static_cast<char*>(data), size);
      },
      &png, width, height, 3, canvas.data(), width * 3);
  if (png.empty()) throw Error("write_gallery_png: PNG encoding failed for '" + path + "'");
  write_file_atomic(path, png);
}

}  // namespace prism
