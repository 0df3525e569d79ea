// Weight import (torchvision / timm safetensors names, prefixes, dtypes, strict errors), the pretrained and
// fine-tuning config keys, and the end-to-end recipe on a generated CUB-layout folder: import → fine-tune
// resnet18 → `prism embed` → train the head on the features (npy) → eval; resnet18 through `prism check` against
// the CUDA launch emulator.
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data_fixtures.hpp"
#include "dml_test_util.hpp"
#include "prism/core/runtime.hpp"
#include "prism/data/image.hpp"
#include "prism/data/npy.hpp"
#include "prism/data/safetensors.hpp"
#include "prism/nn/import.hpp"
#include "prism/nn/models.hpp"
#include "prism/train/config.hpp"

using namespace prism;
using prism::testing::TempDir;

namespace {

std::shared_ptr<nn::Module> small_resnet18(uint64_t seed) {
  nn::ModelOptions o;
  o.in_channels = 3;
  o.embed_dim = 8;
  o.seed = seed;
  return nn::make_model("resnet18", o);
}

// A torchvision-style file of `m`'s backbone: optional prefix, a 1000-class fc, num_batches_tracked counters.
SafeTensors torchvision_file(const nn::Module& m, const std::string& prefix) {
  SafeTensors st;
  for (const auto& [name, t] : m.state()) {
    if (name.compare(0, 3, "fc.") == 0) continue;
    st.put(prefix + name, t);
    if (name.size() > 12 && name.compare(name.size() - 12, 12, "running_mean") == 0)
      st.put_i64(prefix + name.substr(0, name.size() - 12) + "num_batches_tracked", {}, {7});
  }
  st.put_f32(prefix + "fc.weight", {1000, 512}, std::vector<float>(512000, 0.5f));
  st.put_f32(prefix + "fc.bias", {1000}, std::vector<float>(1000, 0.5f));
  return st;
}

uint16_t top_half(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return static_cast<uint16_t>(b >> 16);
}

}  // namespace

TEST_CASE("import: torchvision and timm layouts load every backbone tensor, fc and counters are dropped",
          "[resnet][import]") {
  auto source = small_resnet18(1);
  TempDir dir;
  for (const std::string prefix : {"", "module.", "model."}) {
    INFO("prefix '" << prefix << "'");
    const std::string path = dir / ("w" + std::to_string(prefix.size()) + ".safetensors");
    write_safetensors(path, torchvision_file(*source, prefix));
    auto target = small_resnet18(2);
    const auto head_before = target->state().at("fc.weight").to_vector();
    const nn::ImportReport r = nn::import_weights(*target, path);
    CHECK(r.stripped_prefix == prefix);
    CHECK(r.dropped_head == 2);
    CHECK(r.ignored_counters == 20);
    CHECK(r.loaded == static_cast<int64_t>(target->state().size()) - 2);
    const auto want = source->state(), got = target->state();
    for (const auto& [name, t] : got) {
      INFO(name);
      if (name.compare(0, 3, "fc.") == 0) continue;
      CHECK(t.to_vector() == want.at(name).to_vector());
    }
    CHECK(got.at("fc.weight").to_vector() == head_before);  // the head keeps its own initialisation
  }
}

TEST_CASE("import: F16 and BF16 weights are converted exactly", "[resnet][import]") {
  // Half: 1, −2, the smallest subnormal 2^-24, the largest finite 65504, +inf.
  SafeTensors h;
  const std::vector<uint16_t> halves = {0x3C00, 0xC000, 0x0001, 0x7BFF, 0x7C00, 0x0200};
  h.put("h", StDType::F16, {6}, halves.data());
  const std::vector<float> hv = h.get_as_f32("h");
  CHECK(hv[0] == 1.0f);
  CHECK(hv[1] == -2.0f);
  CHECK(hv[2] == 0x1p-24f);
  CHECK(hv[3] == 65504.0f);
  CHECK(std::isinf(hv[4]));
  CHECK(hv[5] == 0x1p-15f);  // subnormal 0x200 = 512 · 2^-24
  const std::vector<uint16_t> bf = {top_half(1.5f), top_half(-0.09375f)};
  h.put("b", StDType::BF16, {2}, bf.data());
  CHECK(h.get_as_f32("b") == std::vector<float>{1.5f, -0.09375f});
  CHECK_THROWS_WITH(h.get_as_f32("missing"), Catch::Contains("missing"));

  // A whole BN layer stored as BF16 (values chosen bf16-exact) imports to the same floats.
  auto source = small_resnet18(3);
  SafeTensors st = torchvision_file(*source, "");
  std::vector<uint16_t> w16;
  std::vector<float> w;
  for (int c = 0; c < 64; ++c) {
    w.push_back(1.0f + 0.0078125f * static_cast<float>(c));
    w16.push_back(top_half(w.back()));
  }
  st.tensors.erase("bn1.weight");
  st.put("bn1.weight", StDType::BF16, {64}, w16.data());
  TempDir dir;
  write_safetensors(dir / "bf16.safetensors", st);
  auto target = small_resnet18(4);
  nn::import_weights(*target, dir / "bf16.safetensors");
  CHECK(target->state().at("bn1.weight").to_vector() == w);
}

TEST_CASE("import: missing, unexpected and mis-shaped keys are listed, one line per kind, capped",
          "[resnet][import]") {
  auto source = small_resnet18(1);
  TempDir dir;
  SafeTensors st = torchvision_file(*source, "");
  st.tensors.erase("layer1.0.conv1.weight");
  st.put_f32("layer9.0.conv1.weight", {1}, {0.0f});
  st.tensors.erase("conv1.weight");
  st.put_f32("conv1.weight", {64, 1, 7, 7}, std::vector<float>(64 * 49, 0.0f));
  st.put_i32("bn1.weight_as_int", {1}, {1});
  const std::string path = dir / "bad.safetensors";
  write_safetensors(path, st);
  auto target = small_resnet18(2);
  const auto before = target->state().at("conv1.weight").to_vector();
  try {
    nn::import_weights(*target, path);
    FAIL("import accepted a mismatching file");
  } catch (const Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find(path) == 0);
    CHECK(msg.find("missing (1): layer1.0.conv1.weight") != std::string::npos);
    CHECK(msg.find("unexpected (2): bn1.weight_as_int, layer9.0.conv1.weight") != std::string::npos);
    CHECK(msg.find("conv1.weight [64, 1, 7, 7] vs model [64, 3, 7, 7]") != std::string::npos);
  }
  CHECK(target->state().at("conv1.weight").to_vector() == before);  // unchanged on error

  // Many missing keys: the line names 8 and counts the rest.
  SafeTensors few;
  few.put("conv1.weight", source->state().at("conv1.weight"));
  write_safetensors(dir / "few.safetensors", few);
  CHECK_THROWS_WITH(nn::import_weights(*target, dir / "few.safetensors"),
                    Catch::Contains("missing (99): ") && Catch::Contains("(and 91 more)"));
  // Not a safetensors file at all: the file is named.
  testing::write_bytes(dir / "junk.safetensors", "not a file");
  CHECK_THROWS_WITH(nn::import_weights(*target, dir / "junk.safetensors"),
                    Catch::Contains("junk.safetensors"));
}

TEST_CASE("config: MODEL.PRETRAIN needs MODEL.PRETRIANED_PATH, and the fine-tuning keys are checked",
          "[resnet][config]") {
  Config c;
  c.model.name = "resnet18";
  c.model.pretrain = true;
  CHECK_THROWS_WITH(validate_config(c), Catch::Contains("MODEL.PRETRIANED_PATH"));
  c.model.pretrained_path = "w.safetensors";
  CHECK_NOTHROW(validate_config(c));
  c.solver.head_lr_mult = -1;
  CHECK_THROWS_WITH(validate_config(c), Catch::Contains("SOLVER.HEAD_LR_MULT"));
  Config d;
  apply_yaml_text(d,
                  "MODEL: {NAME: resnet50, PRETRAIN: true, PRETRIANED_PATH: /w.st, FREEZE_BN_STATS: true}\n",
                  "t.yaml");
  CHECK(d.model.pretrain);
  CHECK(d.model.freeze_bn_stats);
  CHECK(d.model.pretrained_path == "/w.st");
}

TEST_CASE("end to end: import, fine-tune resnet18, prism embed, train the head on the features, eval",
          "[resnet][cli]") {
  TempDir dir;
  // CUB-200-2011 layout: 8 classes × 4 procedural images; classes 1–4 train, 5–8 test.
  testing::write_cub_folder(dir.path, 8, 4);
  // "Pretrained" weights: a seeded resnet18 in torchvision's layout, with timm's "model." prefix.
  write_safetensors(dir / "resnet18.safetensors", torchvision_file(*small_resnet18(9), "model."));

  const std::string common =
      " --set DATA.DATASET=cub --set DATA.ROOT=" + dir.path.string() +
      " --set DATA.SPLIT=open --set MODEL.NAME=resnet18 --set MODEL.HEAD.DIM=8"
      " --set INPUT.ORIGIN_SIZE=36 --set INPUT.CROP_SIZE=32 --set DATA.TRAIN_BATCHSIZE=8"
      " --set DATA.TEST_BATCHSIZE=8 --set XBM.SIZE=16 --set DATA.PREFETCH=false";
  const std::string config = dir / "empty.yaml";
  testing::write_bytes(config, "NAME: e2e\n");
  auto train = dmltest::run_prism(
      "train --config " + config + common +
      " --set MODEL.PRETRAIN=true --set MODEL.PRETRIANED_PATH=" + (dir / "resnet18.safetensors") +
      " --set MODEL.FREEZE_BN_STATS=true --set SOLVER.HEAD_LR_MULT=10 --set SOLVER.MAX_ITERS=20"
      " --set SOLVER.BASE_LR=1e-4 --set VALIDATION.VERBOSE=0 --quiet --out " +
      (dir / "finetune"));
  INFO(train.out);
  REQUIRE(train.code == 0);
  CHECK(train.out.find("imported 100 backbone tensors") != std::string::npos);

  // A training batch the 4 training classes cannot fill (16 classes × 4) does not matter to embed, which
  // never samples one.
  auto embed = dmltest::run_prism("embed --config " + config + common +
                                  " --set DATA.TRAIN_BATCHSIZE=64 --set DATA.NUM_INSTANCES=4 --weights " +
                                  (dir / "resnet18.safetensors") + " --quiet --out " + (dir / "features"));
  INFO(embed.out);
  REQUIRE(embed.code == 0);
  const NpyMatrix train_f = read_npy_f32_matrix(dir / "features/train_features.npy");
  CHECK(train_f.rows == 16);
  CHECK(train_f.cols == 512);
  CHECK(read_npy_labels(dir / "features/test_labels.npy") ==
        std::vector<int32_t>{5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7, 8, 8, 8, 8});

  auto head = dmltest::run_prism(
      "train --config " + config +
      " --set DATA.DATASET=npy --set MODEL.NAME=mlp --set MODEL.MLP.HIDDEN=[] --set MODEL.HEAD.DIM=8"
      " --set DATA.TRAIN_FEATURES=" +
      (dir / "features/train_features.npy") +
      " --set DATA.TRAIN_LABELS=" + (dir / "features/train_labels.npy") + " --set DATA.TEST_FEATURES=" +
      (dir / "features/test_features.npy") + " --set DATA.TEST_LABELS=" + (dir / "features/test_labels.npy") +
      " --set DATA.TRAIN_BATCHSIZE=8 --set XBM.SIZE=16 --set SOLVER.MAX_ITERS=20 --set VALIDATION.VERBOSE=0"
      " --quiet --out " +
      (dir / "head"));
  INFO(head.out);
  REQUIRE(head.code == 0);
  CHECK(std::filesystem::exists(dir.path / "head" / "summary.json"));
}

// The backbones through the trainer's own step on the CPU and on the CUDA launch emulator (the CUDA backend's
// exact kernels run on the CPU): the whole state bit-identical after each of 3 PRISM steps with memory from
// step 0. resnet18 covers the 7×7 stride-2 stem, the padded max-pool, the strided 1×1 downsampling convs and
// the residual adds; the GPU runs the same check in tests/test_cuda.cpp, with resnet50 and bninception too.
TEST_CASE("prism check: resnet18 on the CPU and on the CUDA launch emulator, bit-identical",
          "[resnet][check][emulator]") {
  TempDir dir;
  testing::write_cub_folder(dir.path, 8, 4);
  testing::write_bytes(dir / "empty.yaml", "NAME: resnet-check\n");
  auto r = dmltest::run_prism(
      "check --config " + (dir / "empty.yaml") +
      " --set DATA.DATASET=cub --set DATA.ROOT=" + dir.path.string() +
      " --set DATA.SPLIT=open --set MODEL.NAME=resnet18 --set MODEL.HEAD.DIM=8 --set INPUT.ORIGIN_SIZE=36"
      " --set INPUT.CROP_SIZE=32 --set DATA.TRAIN_BATCHSIZE=8 --set DATA.NUM_INSTANCES=2"
      " --set DATA.TEST_BATCHSIZE=8 --set XBM.SIZE=16 --set DATA.PREFETCH=false --method prism --steps 3"
      " --target emulator --json");
  INFO(r.out);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  CHECK(j["result"] == "match");
  CHECK(j["target"] == "cuda (emulator on the cpu)");
  CHECK(j["tensors_per_step"] == 236);
}
