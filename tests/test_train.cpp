// End-to-end training on a small Fashion-MNIST subset: every method trains (the loss falls), PRISM's kept
// samples are cleaner than the batch, exact mode is independent of the thread count and of an interruption
// (checkpoints compared byte for byte), and bad input stops with a message naming the culprit.
#include <unistd.h>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dml_test_util.hpp"
#include "prism/core/io.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/safetensors.hpp"
#include "prism/train/config.hpp"
#include "prism/train/data_setup.hpp"
#include "prism/train/run.hpp"
#include "prism/train/trainer.hpp"
#include "train_test_util.hpp"

using namespace prism;
namespace fs = std::filesystem;

namespace {

const char* kFashionMnist = prism::testing::kFashionMnistRoot;
using prism::testing::fashion_mnist_present;
using prism::testing::read_metrics;

// A fresh (removed) run directory path, and the same path again later without removing it.
std::string temp_dir(const std::string& name) {
  return prism::testing::fresh_scratch_dir("train_test", name);
}
std::string run_path(const std::string& name) {
  return prism::testing::scratch_path("train_test", name);
}

// A small, quick experiment: 100 training images per class, 40 test images per class, batch 32 = 4 × 8,
// memory of 256 from iteration 10.
Config small_config(const std::string& method, double noise, int64_t iterations) {
  Config c;
  c.seed = 3;
  c.model.name = "fmnist-cnn";
  c.model.head_dim = 32;
  c.solver.base_lr = 2e-3;
  c.solver.weight_decay = 5e-4;
  c.solver.max_iters = iterations;
  c.xbm.size = 256;
  c.xbm.start_iteration = 10;
  c.noise.method = method;
  c.noise.type = noise > 0 ? "symmetric" : "none";
  c.noise.noise_rate = noise > 0 ? noise : 0.2;
  c.noise.window_size = 10;
  c.data.dataset = "fashion-mnist";
  c.data.root = kFashionMnist;
  c.data.train_batchsize = 32;
  c.data.num_instances = 8;
  c.data.test_batchsize = 200;
  c.data.train_per_class = 100;
  c.data.test_per_class = 40;
  c.validation.verbose = 0;
  c.run.mode = "exact";
  c.run.threads = 2;
  c.run.log_every = 1;
  return c;
}

// Mean of a key over the training records [from, to) (records with that key as a number).
double mean_of(const std::vector<nlohmann::json>& recs, const char* key, size_t from, size_t to) {
  double sum = 0;
  int n = 0;
  size_t seen = 0;
  for (const auto& r : recs) {
    if (!r.contains(key) || !r[key].is_number()) continue;
    if (seen >= from && seen < to) sum += r[key].get<double>(), ++n;
    ++seen;
  }
  return n ? sum / n : NAN;
}

}  // namespace

TEST_CASE("train: every method trains on a small subset and the batch loss falls", "[train]") {
  if (!fashion_mnist_present())
    FAIL("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
  for (const char* method : {"contrastive", "xbm", "trm", "prism", "oracle"}) {
    const std::string dir = temp_dir(std::string("method_") + method);
    TrainOptions opt;
    opt.out_dir = dir;
    opt.progress = false;
    const TrainSummary s = train(small_config(method, 0.2, 60), opt);
    const auto recs = read_metrics(dir);
    const double first = mean_of(recs, "batch_loss", 0, 10), last = mean_of(recs, "batch_loss", 50, 60);
    INFO("method " << method << ": mean batch loss over iterations 1-10 " << first << ", 51-60 " << last
                   << "; P@1 " << s.precision_at_1);
    CHECK(s.finished);
    CHECK(last < first);
    CHECK(s.precision_at_1 > 0.3);  // far above chance (0.1) after 60 iterations
    for (const char* f : {"summary.json", "checkpoint.safetensors", "test_embeddings.npy", "test_labels.npy",
                          "config.yaml", "report/loss.svg", "report/retrieval.svg", "report/gallery.png"})
      CHECK(fs::exists(dir + "/" + f));
  }
}

TEST_CASE("train: PRISM keeps a cleaner share than the noisy batch", "[train]") {
  if (!fashion_mnist_present()) FAIL("Fashion-MNIST is not installed");
  const std::string dir = temp_dir("prism_clean");
  TrainOptions opt;
  opt.out_dir = dir;
  opt.progress = false;
  const TrainSummary s = train(small_config("prism", 0.5, 80), opt);
  // 50% symmetric noise: a batch is half clean; the kept samples must be clearly cleaner.
  INFO("kept precision " << s.kept_precision << ", noise recall " << s.noise_recall);
  CHECK(s.kept_precision > 0.6);
  CHECK(s.noise_recall > 0.4);
  const auto summary = nlohmann::json::parse(read_file(dir + "/summary.json"));
  for (const char* key :
       {"method", "noise_rate", "iterations", "precision_at_1", "map_at_r", "r_precision", "kept_precision",
        "noise_recall", "train_seconds", "images_per_second", "device", "mode", "seed"})
    CHECK(summary.contains(key));
}

TEST_CASE("train: exact mode gives byte-identical checkpoints for 1 and 2 threads and across a resume",
          "[train][determinism]") {
  if (!fashion_mnist_present()) FAIL("Fashion-MNIST is not installed");
  Config c = small_config("prism", 0.5, 30);
  c.data.prefetch = true;
  const auto run = [&](const std::string& name, int threads, int64_t stop_after, bool resume) {
    Config ci = c;
    ci.run.threads = threads;
    TrainOptions opt;
    opt.out_dir = temp_dir(name);
    opt.progress = false;
    opt.stop_after = stop_after;
    if (resume) {
      TrainOptions first = opt;
      train(ci, first);  // stops after `stop_after`
      opt.stop_after = -1;
      opt.resume = true;
      ci = load_run_config(opt.out_dir);
    }
    train(ci, opt);
    return read_file(opt.out_dir + "/checkpoint.safetensors");
  };
  const std::string one = run("threads1", 1, -1, false);
  const std::string two = run("threads2", 2, -1, false);
  const std::string resumed = run("resumed", 2, 15, true);
  CHECK(one.size() == two.size());
  CHECK(one == two);
  CHECK(resumed == two);
  // The metrics of the resumed run equal the uninterrupted run's, except for wall-clock throughput.
  auto strip = [](std::vector<nlohmann::json> recs) {
    for (auto& r : recs) r.erase("images_per_second");
    return recs;
  };
  CHECK(strip(read_metrics(run_path("resumed"))) == strip(read_metrics(run_path("threads2"))));
}

TEST_CASE("train: a checkpoint is a safetensors file with the whole state", "[train]") {
  if (!fashion_mnist_present()) FAIL("Fashion-MNIST is not installed");
  const std::string dir = temp_dir("checkpoint");
  TrainOptions opt;
  opt.out_dir = dir;
  opt.progress = false;
  opt.stop_after = 12;
  train(small_config("prism", 0.5, 30), opt);
  const SafeTensors st = read_safetensors(dir + "/checkpoint.safetensors");
  CHECK(st.meta("iteration") == "12");
  CHECK(st.meta("format") == "prism-checkpoint-1");
  for (const char* name : {"model/conv1.weight", "memory.embeddings", "memory.labels", "selector.window"})
    CHECK(st.has(name));
  CHECK(!fs::exists(dir + "/summary.json"));  // an interrupted run has no summary yet
}

TEST_CASE("train: bad input stops with a message naming the culprit", "[train][errors]") {
  using dmltest::run_prism;
  const std::string dir = temp_dir("errors");
  make_directories(dir);
  const std::string cfg = dir + "/c.yaml";
  write_file_atomic(cfg, "SOLVER:\n  MAX_ITERS: 5\nDATA:\n  ROOT: " + dir + "/nowhere\n");
  {
    auto r = run_prism("train --config " + cfg + " --out " + dir + "/run1");
    INFO(r.out);
    CHECK(r.code != 0);
    CHECK(r.out.find(dir + "/nowhere") != std::string::npos);
  }
  {
    write_file_atomic(dir + "/bad_key.yaml", "SOLVER:\n  BASE_LRR: 0.1\n");
    auto r = run_prism("train --config " + dir + "/bad_key.yaml --out " + dir + "/run2");
    INFO(r.out);
    CHECK(r.code != 0);
    CHECK(r.out.find("SOLVER.BASE_LRR") != std::string::npos);
  }
  {
    auto r =
        run_prism("train --config " + cfg + " --set DATA.ROOT=" + kFashionMnist + " --out /proc/prism_no");
    INFO(r.out);
    CHECK(r.code != 0);
    CHECK(r.out.find("/proc/prism_no") != std::string::npos);
  }
}

TEST_CASE("train: a non-finite loss stops the run and keeps the last good checkpoint", "[train][errors]") {
  if (!fashion_mnist_present()) FAIL("Fashion-MNIST is not installed");
  Config c = small_config("xbm", 0.0, 40);
  c.solver.base_lr = 1e30;  // the first steps blow the weights up
  c.solver.checkpoint_period = 1;
  c.solver.lr_schedular = "constant";
  const std::string dir = temp_dir("nan");
  TrainOptions opt;
  opt.out_dir = dir;
  opt.progress = false;
  std::string message;
  try {
    train(c, opt);
  } catch (const Error& e) {
    message = e.what();
  }
  INFO(message);
  REQUIRE(!message.empty());
  CHECK(message.find("iteration") != std::string::npos);
  // Iteration 1 completes (its checkpoint is written), the next forward pass is non-finite.
  REQUIRE(fs::exists(dir + "/checkpoint.safetensors"));
  const SafeTensors st = read_safetensors(dir + "/checkpoint.safetensors");  // whole and readable
  CHECK(std::stoll(st.meta("iteration")) >= 1);
  CHECK(!fs::exists(dir + "/summary.json"));
}

TEST_CASE("train: every shipped config in data/configs loads and validates", "[train][config]") {
  int count = 0;
  for (const auto& entry : fs::directory_iterator(std::string(PRISM_SOURCE_DIR) + "/data/configs")) {
    if (entry.path().extension() != ".yaml") continue;
    INFO(entry.path().string());
    std::vector<std::string> warnings;
    CHECK_NOTHROW(validate_config(load_config(entry.path().string(), {}, &warnings)));
    CHECK(warnings.empty());
    ++count;
  }
  CHECK(count >= 3);
}

TEST_CASE("train: --force starts afresh in a directory that holds a run, --quiet prints no progress",
          "[train][cli]") {
  if (!fashion_mnist_present()) FAIL("Fashion-MNIST is not installed");
  const std::string dir = temp_dir("force");
  make_directories(dir);
  const std::string cfg = dir + "/c.yaml";
  write_file_atomic(cfg, std::string("SOLVER:\n  MAX_ITERS: 3\nXBM:\n  SIZE: 64\nDATA:\n  ROOT: ") +
                             kFashionMnist +
                             "\n  TRAIN_PER_CLASS: 20\n  TEST_PER_CLASS: 5\n  TRAIN_BATCHSIZE: 16\n"
                             "  NUM_INSTANCES: 4\nVALIDATION:\n  VERBOSE: 0\nNOISE:\n  METHOD: xbm\n");
  const std::string args = "train --config " + cfg + " --out " + dir + "/run --quiet";
  auto first = dmltest::run_prism(args);
  INFO(first.out);
  REQUIRE(first.code == 0);
  CHECK(first.out.find("ETA") == std::string::npos);
  auto again = dmltest::run_prism(args);
  CHECK(again.code != 0);
  CHECK(again.out.find("--force") != std::string::npos);
  auto forced = dmltest::run_prism(args + " --force");
  INFO(forced.out);
  CHECK(forced.code == 0);
}

TEST_CASE("train: a write that fails (file size limit, as on a full disk) stops cleanly, no half file left",
          "[train][errors]") {
  if (!fashion_mnist_present()) FAIL("Fashion-MNIST is not installed");
  const std::string dir = temp_dir("full_disk");
  make_directories(dir);
  const std::string cfg = dir + "/c.yaml";
  write_file_atomic(cfg, std::string("SOLVER:\n  MAX_ITERS: 2\nXBM:\n  SIZE: 4096\nDATA:\n  ROOT: ") +
                             kFashionMnist +
                             "\n  TRAIN_PER_CLASS: 20\n  TEST_PER_CLASS: 5\n  TRAIN_BATCHSIZE: 16\n"
                             "  NUM_INSTANCES: 4\nVALIDATION:\n  VERBOSE: 0\nNOISE:\n  METHOD: xbm\n");
  // RLIMIT_FSIZE of 200 KiB: the small files fit, the checkpoint (memory bank of 4096 × 512 floats) does not,
  // so its write fails with EFBIG as it would with ENOSPC. SIGXFSZ is ignored so the write returns the error.
  const auto r =
      dmltest::run_shell("bash -c \"trap '' XFSZ; ulimit -f 200; exec '" + std::string(PRISM_BINARY_PATH) +
                         "' train --config " + cfg + " --out " + dir + "/run --quiet\"");
  const std::string& out = r.out;
  INFO(out);
  CHECK(r.code > 0);  // a clean error exit, not a signal
  CHECK(out.find("checkpoint.safetensors") != std::string::npos);
  CHECK(!fs::exists(dir + "/run/checkpoint.safetensors"));
  for (const auto& e : fs::directory_iterator(dir + "/run"))
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);  // no temp file left behind
}

TEST_CASE("train: a stopped and resumed run writes the uninterrupted run's summary",
          "[train][determinism][threads]") {
  if (!fashion_mnist_present()) FAIL("Fashion-MNIST is not installed");
  const Config c = small_config("prism", 0.5, 30);
  TrainOptions straight;
  straight.out_dir = temp_dir("summary_straight");
  straight.progress = false;
  train(c, straight);
  TrainOptions first;
  first.out_dir = temp_dir("summary_resumed");
  first.progress = false;
  first.stop_after = 12;
  train(c, first);
  const auto part = nlohmann::json::parse(read_file(first.out_dir + "/run_time.json"));
  CHECK(part["iteration"] == 12);
  TrainOptions rest = first;
  rest.stop_after = -1;
  rest.resume = true;
  train(load_run_config(first.out_dir), rest);
  auto a = nlohmann::json::parse(read_file(straight.out_dir + "/summary.json"));
  auto b = nlohmann::json::parse(read_file(first.out_dir + "/summary.json"));
  // Wall-clock time covers both parts of the resumed run (it cannot equal another run's).
  CHECK(b["train_seconds"].get<double>() > part["train_seconds"].get<double>());
  for (auto* j : {&a, &b}) {
    j->erase("train_seconds");
    j->erase("images_per_second");
  }
  INFO("straight " << a.dump() << "\nresumed  " << b.dump());
  CHECK(a == b);
  CHECK(a["kept_precision"].is_number());  // the totals were counted, in both runs
}

TEST_CASE("train: --force keeps the old run until the new one has a checkpoint", "[train][errors]") {
  if (!fashion_mnist_present()) FAIL("Fashion-MNIST is not installed");
  const std::string dir = temp_dir("force_safe");
  TrainOptions opt;
  opt.out_dir = dir;
  opt.progress = false;
  train(small_config("xbm", 0.0, 4), opt);
  const std::string old_checkpoint = read_file(dir + "/checkpoint.safetensors");
  TrainOptions force = opt;
  force.overwrite = true;
  // A new run whose data cannot be opened: nothing of the old run is touched.
  Config bad = small_config("xbm", 0.0, 4);
  bad.data.root = dir + "/nowhere";
  CHECK_THROWS_WITH(train(bad, force), Catch::Contains("nowhere"));
  CHECK(read_file(dir + "/checkpoint.safetensors") == old_checkpoint);
  // A new run that fails before its first checkpoint (the loss diverges at once): the old run is put back.
  Config diverging = small_config("xbm", 0.0, 40);
  diverging.solver.base_lr = 1e30;
  diverging.solver.lr_schedular = "constant";
  CHECK_THROWS_WITH(train(diverging, force), Catch::Contains("iteration"));
  CHECK(read_file(dir + "/checkpoint.safetensors") == old_checkpoint);
  CHECK(fs::exists(dir + "/summary.json"));
  CHECK(!fs::exists(dir + "/.replaced"));
  // A new run that succeeds replaces it.
  train(small_config("xbm", 0.0, 5), force);
  CHECK(nlohmann::json::parse(read_file(dir + "/summary.json"))["iterations"] == 5);
  CHECK(!fs::exists(dir + "/.replaced"));
}

TEST_CASE("train: --stop-after 0 writes a checkpoint to resume from, a bad checkpoint iteration is refused",
          "[train][errors]") {
  if (!fashion_mnist_present()) FAIL("Fashion-MNIST is not installed");
  const std::string dir = temp_dir("stop0");
  TrainOptions opt;
  opt.out_dir = dir;
  opt.progress = false;
  opt.stop_after = 0;
  const Config c = small_config("prism", 0.5, 6);
  train(c, opt);
  REQUIRE(fs::exists(dir + "/checkpoint.safetensors"));
  CHECK(read_safetensors(dir + "/checkpoint.safetensors").meta("iteration") == "0");
  // Resume, then tamper with the finished checkpoint's iteration.
  TrainOptions rest = opt;
  rest.stop_after = -1;
  rest.resume = true;
  CHECK(train(load_run_config(dir), rest).finished);
  for (const char* iteration : {"5abc", "99", "-1"}) {
    SafeTensors st = read_safetensors(dir + "/checkpoint.safetensors");
    st.metadata["iteration"] = iteration;
    write_safetensors(dir + "/tampered.safetensors", st);
    TrainingRun run(load_run_config(dir), open_datasets(load_run_config(dir)).train, DeviceType::cpu);
    INFO(iteration);
    // The checksum catches the edit first; without one (a checkpoint from before checksums) the strict
    // parse and the range check do.
    CHECK_THROWS_WITH(run.load_checkpoint(dir + "/tampered.safetensors"),
                      Catch::Contains("tampered.safetensors") && Catch::Contains("corrupted"));
    st.metadata.erase("checksum_crc32");
    write_safetensors(dir + "/tampered.safetensors", st);
    CHECK_THROWS_WITH(run.load_checkpoint(dir + "/tampered.safetensors"),
                      Catch::Contains("tampered.safetensors") && Catch::Contains("iteration"));
  }
}
