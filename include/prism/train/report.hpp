// Outputs a person can look at: SVG line plots of training curves and a PNG retrieval gallery (queries and
// their nearest neighbours with green/red frames). Reference code; writes are atomic.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace prism {

// Text for SVG and HTML: < > & and " as entities (the SVG plots and the report pages share it).
std::string escape_markup(const std::string& s);

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;  // points with non-finite y are skipped
  // Optional error bars: y ± err[i] (empty = none; a non-finite or zero entry draws no bar). Series with
  // error bars also get a marker at every point, since they are usually a handful of settings, not a curve.
  std::vector<double> err;
};

// A self-contained SVG line chart (axes with ticks, grid, legend). Throws prism::Error if the write fails.
// The x axis spans the data and, when given (finite), x_include_lo / x_include_hi (e.g. 0 for noise rates).
std::string line_plot_svg(const std::string& title, const std::string& x_label, const std::string& y_label,
                          const std::vector<PlotSeries>& series, double x_include_lo = NAN,
                          double x_include_hi = NAN);
void write_line_plot_svg(const std::string& path, const std::string& title, const std::string& x_label,
                         const std::string& y_label, const std::vector<PlotSeries>& series);

struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // row-major, 3 bytes per pixel
};

struct GalleryRow {
  RgbImage query;
  std::vector<RgbImage> results;
  std::vector<bool> correct;  // same label as the query → green frame, else red
};

// One row per query: the query (grey frame), a gap, then its results in rank order. Cells are `cell` pixels
// square (images are scaled to fit, nearest neighbour).
void write_gallery_png(const std::string& path, const std::vector<GalleryRow>& rows, int cell = 64);

}  // namespace prism
