// The multi-similarity and SoftTriple losses in the real trainer: `prism train`'s path (train()) with
// --method xbm and --method prism in exact and fast mode on a small Fashion-MNIST subset, SoftTriple's centers
// trained, checkpointed and resumed bit for bit, and `prism check` (CPU threads, CUDA launch emulator) with
// LOSSES.NAME set.
#include <unistd.h>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dml_test_util.hpp"
#include "prism/core/io.hpp"
#include "prism/data/safetensors.hpp"
#include "prism/dml/softtriple.hpp"
#include "prism/train/config.hpp"
#include "prism/train/trainer.hpp"
#include "train_test_util.hpp"

using namespace prism;
namespace fs = std::filesystem;

namespace {

const char* kFashionMnist = prism::testing::kFashionMnistRoot;
using prism::testing::fashion_mnist_present;
using prism::testing::read_metrics;

std::string fresh_dir(const std::string& name) {
  return prism::testing::fresh_scratch_dir("train_losses", name);
}

// 100 training images per class, 40 test images per class, batch 32 = 4 × 8, memory of 256 from iteration 10,
// 20% symmetric noise.
Config small_config(const std::string& loss, const std::string& method, const std::string& mode,
                    int64_t iterations) {
  Config c;
  c.seed = 3;
  c.model.name = "fmnist-cnn";
  c.model.head_dim = 32;
  c.losses.name = loss;
  c.solver.base_lr = 2e-3;
  c.solver.weight_decay = 5e-4;
  c.solver.max_iters = iterations;
  c.xbm.size = 256;
  c.xbm.start_iteration = 10;
  c.noise.method = method;
  c.noise.type = "symmetric";
  c.noise.noise_rate = 0.2;
  c.noise.window_size = 10;
  c.data.dataset = "fashion-mnist";
  c.data.root = kFashionMnist;
  c.data.train_batchsize = 32;
  c.data.num_instances = 8;
  c.data.test_batchsize = 200;
  c.data.train_per_class = 100;
  c.data.test_per_class = 40;
  c.validation.verbose = 0;
  c.run.mode = mode;
  c.run.threads = 2;
  c.run.log_every = 1;
  return c;
}

}  // namespace

TEST_CASE("train: multi_similarity and softtriple with --method xbm and prism, exact and fast",
          "[train][losses]") {
  if (!fashion_mnist_present())
    FAIL("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
  const std::string loss = GENERATE(as<std::string>{}, "multi_similarity", "softtriple");
  const std::string method = GENERATE(as<std::string>{}, "xbm", "prism");
  const std::string mode = GENERATE(as<std::string>{}, "exact", "fast");
  const std::string dir = fresh_dir(loss + "_" + method + "_" + mode);
  TrainOptions opt;
  opt.out_dir = dir;
  opt.progress = false;
  const TrainSummary s = train(small_config(loss, method, mode, 40), opt);
  INFO(loss << " × " << method << " (" << mode << "): P@1 " << s.precision_at_1 << ", MAP@R " << s.map_at_r);
  CHECK(s.finished);
  CHECK(s.precision_at_1 > 0.3);  // far above chance (0.1) after 40 iterations
  int memory_records = 0, positive_memory_records = 0;
  for (const auto& r : read_metrics(dir)) {
    if (!r.contains("batch_loss")) continue;
    CHECK(std::isfinite(r["batch_loss"].get<double>()));
    if (r.contains("memory_loss") && r["memory_loss"].is_number()) {
      const double memory_term = r["memory_loss"].get<double>();
      ++memory_records;
      positive_memory_records += memory_term > 0.0;
      CHECK(memory_term >= 0.0);
    }
  }
  INFO(positive_memory_records << " of " << memory_records
                               << " steps with memory have a positive memory loss");
  CHECK(memory_records > 20);
  // softtriple takes no memory columns (its memory term is always 0); multi-similarity does — 0 only in a step
  // where no batch sample has a positive in the memory (then nothing is mined, e.g. a young memory holding
  // other classes than the batch).
  if (loss == "softtriple")
    CHECK(positive_memory_records == 0);
  else
    CHECK(positive_memory_records > memory_records / 2);
}

TEST_CASE("train: softtriple's centers are trained, checkpointed and resumed bit for bit (exact)",
          "[train][losses][determinism]") {
  if (!fashion_mnist_present()) FAIL("Fashion-MNIST is not installed");
  const Config c = small_config("softtriple", "prism", "exact", 20);
  auto run = [&](const std::string& name, int64_t stop_after) {
    TrainOptions opt;
    opt.out_dir = fresh_dir(name);
    opt.progress = false;
    if (stop_after >= 0) {
      TrainOptions first = opt;
      first.stop_after = stop_after;
      train(c, first);
      opt.resume = true;
      train(load_run_config(opt.out_dir), opt);
    } else {
      train(c, opt);
    }
    return opt.out_dir + "/checkpoint.safetensors";
  };
  const std::string whole = run("softtriple_whole", -1), resumed = run("softtriple_resumed", 8);
  REQUIRE(read_file(whole) == read_file(resumed));
  // The checkpoint holds the centers and their Adam moments; the centers moved away from their initial value.
  const SafeTensors st = read_safetensors(whole);
  REQUIRE(st.has("loss/centers"));
  const std::vector<float> trained = st.get_f32("loss/centers");
  dml::SoftTripleLoss initial(10, 32, static_cast<uint64_t>(c.seed));
  CHECK(trained.size() == static_cast<size_t>(10 * 10 * 32));
  CHECK(trained != initial.centers().centers.to_vector());
  bool has_moments = false;
  for (const auto& [name, t] : st.tensors)
    has_moments |= name.rfind("optimizer/", 0) == 0 && name.find("loss.centers") != std::string::npos;
  CHECK(has_moments);
}

TEST_CASE("prism check: multi_similarity and softtriple, CPU 1 vs 2 threads and the CUDA launch emulator",
          "[check][emulator][losses]") {
  const std::string loss = GENERATE(as<std::string>{}, "multi_similarity", "softtriple");
  const std::string target = GENERATE(as<std::string>{}, "cpu", "emulator");
  const auto r =
      dmltest::run_prism("check --target " + target + " --method prism --steps 6 --set LOSSES.NAME=" + loss +
                         " --set DATA.TRAIN_BATCHSIZE=16 --set DATA.NUM_INSTANCES=4 --set XBM.SIZE=256 "
                         "--set MODEL.HEAD.DIM=16 --json");
  INFO(r.out);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  CHECK(j["result"] == "match");
  CHECK(j["steps_with_memory"] == 4);
}
