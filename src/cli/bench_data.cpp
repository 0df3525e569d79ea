// prism bench data: images/s of image loading as training does it — JPEG decode plus the official train
// transform, through ImageListDataset::load_batch on the host threads — on generated photo-sized JPEGs, against
// torchvision + PIL with a DataLoader on the same cores (tests/reference/bench_torch_data.py) in the same run,
// with a one-thread breakdown (decode, transform) of both. Reference wiring; the timing is bench train's median.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/bench_common.hpp"
#include "cli/commands.hpp"
#include "cli/runtime_options.hpp"
#include "prism/core/io.hpp"
#include "prism/core/random.hpp"
#include "prism/core/runtime.hpp"
#include "prism/core/timing.hpp"
#include "prism/data/datasets.hpp"
#include "prism/data/image.hpp"
#include "prism/data/list.hpp"
#include "prism/data/transform.hpp"
#include "prism/train/config.hpp"
#include "prism/train/data_setup.hpp"

namespace prism::cli {

namespace {

// "m0,m1,m2" for the twin's --mean / --std: one value per RGB channel (a single value stands for all three).
std::string per_channel_text(const std::vector<float>& v) {
  std::string out;
  for (size_t c = 0; c < 3; ++c) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v.size() == 1 ? v[0] : v.at(c)));
    out += (c ? "," : "") + std::string(buf);
  }
  return out;
}

struct BenchDataArgs {
  int64_t images = 128, width = 500, height = 375, quality = 90, batch = 32, repeats = 3;
  std::string config, keep_dir,
      torch_script = std::string(PRISM_SOURCE_DIR) + "/tests/reference/bench_torch_data.py";
  bool json = false, no_torch = false;
  RuntimeOptions runtime;
};

// A photo-like picture: a two-colour gradient, a dozen soft-edged ellipses, a smooth wave and fine grain, so
// that its JPEG has the entropy (and the decode cost) of a typical CUB/Cars photo rather than of a flat image.
Image procedural_photo(int width, int height, Rng& rng) {
  Image img;
  img.width = width;
  img.height = height;
  img.pixels.resize(static_cast<size_t>(width) * height * 3);
  float top[3], bottom[3];
  for (int c = 0; c < 3; ++c) top[c] = rng.uniform(0, 255), bottom[c] = rng.uniform(0, 255);
  struct Blob {
    float cx, cy, rx, ry, colour[3];
  };
  std::vector<Blob> blobs(12);
  for (Blob& b : blobs) {
    b.cx = rng.uniform(0, static_cast<float>(width));
    b.cy = rng.uniform(0, static_cast<float>(height));
    b.rx = rng.uniform(10, width / 3.0f);
    b.ry = rng.uniform(10, height / 3.0f);
    for (float& v : b.colour) v = rng.uniform(0, 255);
  }
  const float fx = rng.uniform(0.01f, 0.08f), fy = rng.uniform(0.01f, 0.08f);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const float t = static_cast<float>(y) / static_cast<float>(height - 1 > 0 ? height - 1 : 1);
      float rgb[3];
      for (int c = 0; c < 3; ++c) rgb[c] = top[c] + t * (bottom[c] - top[c]);
      for (const Blob& b : blobs) {
        const float dx = (x - b.cx) / b.rx, dy = (y - b.cy) / b.ry, r2 = dx * dx + dy * dy;
        if (r2 >= 1.0f) continue;
        const float w = 1.0f - r2 * r2;  // soft edge
        for (int c = 0; c < 3; ++c) rgb[c] += w * (b.colour[c] - rgb[c]);
      }
      const float wave = 18.0f * std::sin(fx * x) * std::cos(fy * y);
      uint8_t* px = img.at(y, x);
      for (int c = 0; c < 3; ++c)
        px[c] = static_cast<uint8_t>(std::clamp(rgb[c] + wave + rng.uniform(-10, 10), 0.0f, 255.0f));
    }
  return img;
}

// The generated images live in --keep-dir, or in a temporary directory removed when the benchmark ends.
struct ImageFolder {
  std::filesystem::path dir;
  bool remove = false;
  ~ImageFolder() {
    std::error_code ec;
    if (remove) std::filesystem::remove_all(dir, ec);
  }
};

}  // namespace

void register_bench_data(CLI::App* bench) {
  static BenchDataArgs a;
  auto* cmd = bench->add_subcommand(
      "data", "Images/s of JPEG decode + the train transform (prism's loader), with torchvision + PIL's");
  cmd->add_option("--images", a.images, "Generated JPEGs per pass")
      ->check(CLI::Range(int64_t(1), int64_t(100000)))
      ->capture_default_str();
  cmd->add_option("--width", a.width, "Their width in pixels")
      ->check(CLI::Range(int64_t(8), int64_t(4096)))
      ->capture_default_str();
  cmd->add_option("--height", a.height, "Their height in pixels")
      ->check(CLI::Range(int64_t(8), int64_t(4096)))
      ->capture_default_str();
  cmd->add_option("--quality", a.quality, "JPEG quality")
      ->check(CLI::Range(int64_t(1), int64_t(100)))
      ->capture_default_str();
  cmd->add_option("--batch", a.batch, "Images per load_batch call (and DataLoader batch)")
      ->check(positive_number())
      ->capture_default_str();
  cmd->add_option("--repeats", a.repeats, "Timed passes per measurement (median reported)")
      ->check(positive_number())
      ->capture_default_str();
  cmd->add_option("--config", a.config,
                  "Take the transform (INPUT.*) from this config (default: the official one)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--keep-dir", a.keep_dir,
                  "Write the JPEGs and images.csv here and keep them (default: a temporary directory)");
  cmd->add_option("--torch-script", a.torch_script,
                  "The torchvision twin (tests/reference/bench_torch_data.py)");
  cmd->add_flag("--no-torch", a.no_torch, "Skip the torchvision comparison");
  cmd->add_flag("--json", a.json, "Print one JSON object on stdout");
  // Image loading runs on the host threads whatever the training device: no --device, no --mode.
  add_runtime_options(cmd, a.runtime, /*with_mode=*/false, /*with_device=*/false);
  cmd->callback([] {
    apply_thread_option(a.runtime);
    const Config config = a.config.empty() ? Config{} : load_config(a.config, {});
    const ImageTransformSpec spec = image_transform_spec(config);
    spec.validate();

    ImageFolder folder;
    if (a.keep_dir.empty()) {
      folder.dir =
          std::filesystem::temp_directory_path() / ("prism_bench_data_" + std::to_string(::getpid()));
      folder.remove = true;
    } else {
      folder.dir = a.keep_dir;
    }
    make_directories(folder.dir.string());
    ImageList list;
    std::string csv;
    size_t jpeg_bytes = 0;
    Rng rng(7, RngStream::test);
    for (int64_t i = 0; i < a.images; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "img_%05lld.jpg", static_cast<long long>(i));
      const std::string bytes =
          encode_jpeg(procedural_photo(static_cast<int>(a.width), static_cast<int>(a.height), rng),
                      static_cast<int>(a.quality));
      write_file_atomic((folder.dir / name).string(), bytes);
      jpeg_bytes += bytes.size();
      list.paths.push_back(name);
      list.labels.push_back(static_cast<int32_t>(i % 10));
      csv += std::string(name) + "," + std::to_string(i % 10) + "\n";
    }
    write_file_atomic((folder.dir / "images.csv").string(), csv);
    const ImageListDataset dataset(list, {}, folder.dir.string(), spec, MissingImagePolicy::error,
                                   "bench data");

    nlohmann::ordered_json r;
    r["images"] = a.images;
    r["width"] = a.width;
    r["height"] = a.height;
    r["quality"] = a.quality;
    r["mean_jpeg_kb"] = static_cast<double>(jpeg_bytes) / 1024.0 / static_cast<double>(a.images);
    r["batch"] = a.batch;
    r["threads"] = num_threads();
    r["transform"] = {
        {"resize", spec.resize}, {"crop", spec.crop}, {"scale", {spec.scale_min, spec.scale_max}},
        {"mean", spec.mean},     {"std", spec.std},   {"bgr255", spec.bgr255}};

    // One thread: decode alone over every file, then the train transform alone on up to 32 decoded images.
    std::vector<std::string> paths;
    for (const std::string& p : list.paths) paths.push_back((folder.dir / p).string());
    const double decode_s = median_seconds(
        [&] {
          for (const std::string& p : paths) decode_image_file(p);
        },
        a.repeats);
    std::vector<Image> decoded;
    for (size_t i = 0; i < paths.size() && i < 32; ++i) decoded.push_back(decode_image_file(paths[i]));
    std::vector<float> chw(static_cast<size_t>(3) * spec.crop * spec.crop);
    Rng augment(0, RngStream::augment);
    const double transform_s = median_seconds(
        [&] {
          for (const Image& img : decoded) transform_to_chw(img, spec, true, augment, chw.data());
        },
        a.repeats);
    r["decode_ms"] = 1000.0 * decode_s / static_cast<double>(paths.size());
    r["transform_ms"] = 1000.0 * transform_s / static_cast<double>(decoded.size());

    // The training path: whole passes of load_batch (train transform, samples in parallel on the host threads).
    const double pass_s = median_seconds(
        [&] {
          for (int64_t first = 0; first < a.images; first += a.batch) {
            std::vector<int64_t> indices;
            for (int64_t i = first; i < std::min(a.images, first + a.batch); ++i) indices.push_back(i);
            dataset.load_batch(indices, true, 0, static_cast<uint64_t>(first));
          }
        },
        a.repeats);
    r["pipeline"] = {{"images_per_second", static_cast<double>(a.images) / pass_s}};

    nlohmann::json torch = nlohmann::json{{"error", "skipped (--no-torch)"}};
    if (!a.no_torch) {
      std::vector<std::string> args = {"--dir",       folder.dir.string(),
                                       "--list",      (folder.dir / "images.csv").string(),
                                       "--threads",   std::to_string(num_threads()),
                                       "--batch",     std::to_string(a.batch),
                                       "--repeats",   std::to_string(a.repeats),
                                       "--resize",    std::to_string(spec.resize),
                                       "--crop",      std::to_string(spec.crop),
                                       "--scale-min", std::to_string(spec.scale_min),
                                       "--scale-max", std::to_string(spec.scale_max),
                                       "--mean",      per_channel_text(spec.mean),
                                       "--std",       per_channel_text(spec.std)};
      if (spec.bgr255) args.push_back("--bgr255");  // the same Normalize input as ours (INPUT.MODE BGR)
      torch = run_python_twin(a.torch_script, args);
    }
    if (record_twin(r, torch, "pipeline")) {
      r["ratio_vs_pytorch"] = {
          {"pipeline", r["pipeline"]["images_per_second"].get<double>() /
                           torch["pipeline"]["images_per_second"].get<double>()},
          // Per-image times: a ratio above 1 means prism is faster, as for the throughput.
          {"decode", torch["decode_ms"].get<double>() / r["decode_ms"].get<double>()},
          {"transform", torch["transform_ms"].get<double>() / r["transform_ms"].get<double>()}};
    }
    if (print_json_report(r, a.json)) return;
    std::printf(
        "Image loading: %lld generated JPEGs %lld x %lld (quality %lld, %.0f KB mean); train transform "
        "Resize %d, "
        "RandomResizedCrop %d, flip, normalise; batch %lld, %d threads\n",
        static_cast<long long>(a.images), static_cast<long long>(a.width), static_cast<long long>(a.height),
        static_cast<long long>(a.quality), r["mean_jpeg_kb"].get<double>(), spec.resize, spec.crop,
        static_cast<long long>(a.batch), num_threads());
    std::printf(
        "  prism    pipeline %7.1f img/s (load_batch); 1 thread: decode %.2f ms/img (stb_image), transform "
        "%.2f ms/img\n",
        r["pipeline"]["images_per_second"].get<double>(), r["decode_ms"].get<double>(),
        r["transform_ms"].get<double>());
    if (r.contains("ratio_vs_pytorch")) {
      std::printf(
          "  pytorch  pipeline %7.1f img/s (DataLoader, %d workers); 1 process: decode %.2f ms/img (PIL), "
          "transform %.2f ms/img\n",
          torch["pipeline"]["images_per_second"].get<double>(), num_threads(),
          torch["decode_ms"].get<double>(), torch["transform_ms"].get<double>());
      const auto& q = r["ratio_vs_pytorch"];
      std::printf("  prism / pytorch (above 1 = prism faster): pipeline %.2f, decode %.2f, transform %.2f\n",
                  q["pipeline"].get<double>(), q["decode"].get<double>(), q["transform"].get<double>());
    } else {
      std::printf("  pytorch: %s\n", r["pytorch_error"].get<std::string>().c_str());
    }
    if (!folder.remove) std::printf("  images kept in %s (list: images.csv)\n", folder.dir.c_str());
  });
}

}  // namespace prism::cli
