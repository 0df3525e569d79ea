// Config: defaults, nested YAML and dotted keys, --set overrides, errors that name the key (and file:line),
// official keys without effect, validation, and the YAML round trip.
#include <catch2/catch.hpp>

#include "data_fixtures.hpp"
#include "prism/core/io.hpp"
#include "prism/core/runtime.hpp"
#include "prism/train/config.hpp"

using namespace prism;
using prism::testing::TempDir;

TEST_CASE("config: defaults are the official CARS-98N setting", "[data][config]") {
  Config c;
  REQUIRE(c.model.head_dim == 512);
  REQUIRE(c.data.train_batchsize == 64);
  REQUIRE(c.data.num_instances == 4);
  REQUIRE(c.solver.optimizer_name == "Adam");
  REQUIRE(c.solver.base_lr == 3e-5);
  REQUIRE(c.solver.weight_decay == 5e-4);
  REQUIRE(c.solver.lr_schedular == "cos");
  REQUIRE(c.solver.max_iters == 4000);
  REQUIRE(c.xbm.size == 9500);
  REQUIRE(c.xbm.start_iteration == 0);
  REQUIRE(c.xbm.weight == 1.0);
  REQUIRE(c.noise.noise_rate == 0.5);
  REQUIRE(c.noise.window_size == 30);
  REQUIRE(c.noise.warm_up == 0);
  REQUIRE(c.losses.margin == 0.5);
  REQUIRE(c.input.crop_scale == std::vector<double>{0.2, 1.0});
  REQUIRE_NOTHROW(validate_config(c));
  REQUIRE(c.resolved_mean() == std::vector<float>{0.2860f});
  c.data.dataset = "cub";
  REQUIRE(c.resolved_std() == std::vector<float>{0.229f, 0.224f, 0.225f});
}

TEST_CASE("config: nested maps, dotted keys and overrides", "[data][config]") {
  TempDir dir;
  testing::write_bytes(dir / "c.yaml",
                       "# a comment\n"
                       "SOLVER:\n"
                       "  BASE_LR: 3e-4\n"
                       "  MAX_ITERS: 2000\n"
                       "  WARMUP_ITERS: 100\n"
                       "MODEL: {HEAD: {DIM: 64}, NAME: mlp}\n"
                       "XBM.SIZE: 8192\n"
                       "NOISE:\n"
                       "  METHOD: trm\n"
                       "  INJECT_RATE: 0.4\n"
                       "DATA:\n"
                       "  TRAIN_BATCHSIZE: 64\n"
                       "  NUM_INSTANCES: 8\n"
                       "  PREFETCH: no\n"
                       "INPUT:\n"
                       "  ORIGIN_SIZE: 128\n"
                       "  CROP_SIZE: [112, 112]\n"
                       "  PIXEL_MEAN: [0.5]\n"
                       "  PIXEL_STD: [0.25]\n");
  Config c = load_config(dir / "c.yaml", {"SOLVER.BASE_LR=1e-3", "DATA.ROOT=/data/my: dir#1", " SEED = 7",
                                          "INPUT.CROP_SCALE=[0.5, 1]", "NOISE.INJECT_RATE=null"});
  REQUIRE(c.solver.base_lr == 1e-3);  // the override wins over the file
  REQUIRE(c.solver.max_iters == 2000);
  REQUIRE(c.solver.warmup_iters == 100);
  REQUIRE(c.model.head_dim == 64);
  REQUIRE(c.model.name == "mlp");
  REQUIRE(c.xbm.size == 8192);
  REQUIRE(c.noise.method == "trm");
  REQUIRE(!c.noise.inject_rate.has_value());
  REQUIRE(c.effective_inject_rate() == 0.5);
  REQUIRE(c.data.num_instances == 8);
  REQUIRE(c.data.prefetch == false);
  REQUIRE(c.data.root == "/data/my: dir#1");  // strings are taken verbatim from --set
  REQUIRE(c.seed == 7);
  REQUIRE(c.input.origin_size == std::vector<int64_t>{128});
  REQUIRE(c.input.crop_scale == std::vector<double>{0.5, 1.0});
  REQUIRE(c.resolved_mean() == std::vector<float>{0.5f});
}

TEST_CASE("config: unknown keys and bad values name the key and the line", "[data][config]") {
  auto load = [](const std::string& text) {
    Config c;
    apply_yaml_text(c, text, "run.yaml");
    validate_config(c);
    return c;
  };
  REQUIRE_THROWS_WITH(load("SOLVER:\n  BASE_LRR: 1\n"), Catch::Contains("run.yaml:2") &&
                                                            Catch::Contains("SOLVER.BASE_LRR") &&
                                                            Catch::Contains("did you mean 'SOLVER.BASE_LR'"));
  REQUIRE_THROWS_WITH(load("FOO: 1\n"), Catch::Contains("run.yaml:1") && Catch::Contains("'FOO'"));
  REQUIRE_THROWS_WITH(load("\n\nSOLVER:\n  MAX_ITERS: 12.5\n"), Catch::Contains("run.yaml:4") &&
                                                                    Catch::Contains("SOLVER.MAX_ITERS") &&
                                                                    Catch::Contains("integer"));
  REQUIRE_THROWS_WITH(load("SOLVER: {BASE_LR: fast}\n"),
                      Catch::Contains("SOLVER.BASE_LR") && Catch::Contains("'fast'"));
  REQUIRE_THROWS_WITH(
      load("NOISE: {METHOD: magic}\n"),
      Catch::Contains("NOISE.METHOD") && Catch::Contains("contrastive, xbm, trm, prism, oracle"));
  REQUIRE_THROWS_WITH(load("XBM: {ENABLE: maybe}\n"), Catch::Contains("XBM.ENABLE"));
  REQUIRE_THROWS_WITH(load("SOLVER:\n  BASE_LR: [1, 2]\n"),
                      Catch::Contains("run.yaml:2") && Catch::Contains("SOLVER.BASE_LR"));
  REQUIRE_THROWS_WITH(load("SOLVER: {BASE_LR: .nan}\n"), Catch::Contains("SOLVER.BASE_LR"));
  REQUIRE_THROWS_WITH(load("SOLVER:\n  BASE_LR: 1\nSOLVER.BASE_LR: 2\n"), Catch::Contains("set twice"));
  REQUIRE_THROWS_WITH(load("SOLVER: [\n"),
                      Catch::Contains("run.yaml") && Catch::Contains("YAML syntax error"));
  REQUIRE_THROWS_WITH(load("- 1\n- 2\n"), Catch::Contains("must be a map"));
  // Validation: ranges and combinations, with the key named.
  REQUIRE_THROWS_WITH(load("SOLVER: {BASE_LR: -1}\n"),
                      Catch::Contains("SOLVER.BASE_LR") && Catch::Contains("> 0"));
  REQUIRE_THROWS_WITH(load("NOISE: {NOISE_RATE: 1.5}\n"), Catch::Contains("NOISE.NOISE_RATE"));
  REQUIRE_THROWS_WITH(load("DATA: {TRAIN_BATCHSIZE: 30, NUM_INSTANCES: 4}\n"),
                      Catch::Contains("DATA.TRAIN_BATCHSIZE") && Catch::Contains("multiple"));
  REQUIRE_THROWS_WITH(load("XBM: {ENABLE: false}\n"),
                      Catch::Contains("XBM.ENABLE") && Catch::Contains("prism"));
  REQUIRE_NOTHROW(load("XBM: {ENABLE: false}\nNOISE: {METHOD: contrastive}\n"));
  REQUIRE_THROWS_WITH(load("NOISE: {METHOD: oracle}\n"), Catch::Contains("oracle"));
  REQUIRE_THROWS_WITH(load("DATA: {DATASET: list}\n"), Catch::Contains("DATA.TRAIN_IMG_SOURCE"));
  REQUIRE_THROWS_WITH(load("DATA: {DATASET: cub, ROOT: /x}\n"), Catch::Contains("DATA.SPLIT"));
  REQUIRE_THROWS_WITH(load("INPUT: {CROP_SIZE: [224, 200]}\n"), Catch::Contains("INPUT.CROP_SIZE"));
  REQUIRE_THROWS_WITH(load("INPUT: {PIXEL_MEAN: [0.1, 0.2, 0.3], PIXEL_STD: [1, 1, 1]}\n"),
                      Catch::Contains("INPUT.PIXEL_MEAN") && Catch::Contains("Fashion-MNIST"));

  Config c;
  REQUIRE_THROWS_WITH(apply_override(c, "SOLVER.BASE_LR"), Catch::Contains("KEY=VALUE"));
  REQUIRE_THROWS_WITH(apply_override(c, "SOLVER.BASELR=1"), Catch::Contains("did you mean 'SOLVER.BASE_LR'"));
  REQUIRE_THROWS_WITH(apply_override(c, "XBM.SIZE=big"),
                      Catch::Contains("--set XBM.SIZE") && Catch::Contains("'big'"));
  REQUIRE_THROWS_WITH(apply_override(c, "XBM.SIZE="), Catch::Contains("XBM.SIZE"));
}

TEST_CASE("config: official keys without effect are accepted with a warning", "[data][config]") {
  // The shape of the official configs/CARSN/MemoryContrastiveLossPRISM.yaml.
  const std::string official =
      "NAME: CARSN-BN-MemoryContrastiveLossPRISM-sTRM\n"
      "MODEL:\n  BACKBONE:\n    NAME: bninception\n    FREEZE_BN: False\n  HEAD:\n    DIM: 512\n    "
      "IN_CHANNELS: 1024\n"
      "LOSSES:\n  NAME: 'memory_contrastive_loss_w_PRISM'\n"
      "INPUT:\n  MODE: RGB\n  PIXEL_MEAN: [0.485, 0.456, 0.406]\n  PIXEL_STD: [0.229, 0.224, 0.225]\n"
      "SOLVER:\n  MAX_ITERS: 4000 \n  OPTIMIZER_NAME: Adam\n  BASE_LR: 0.00003 \n  WEIGHT_DECAY: 0.0005 \n"
      "  LR_SCHEDULAR: 'cos'\nTB_SAVE_DIR: CARSNruns\n"
      "DATA:\n  TRAIN_IMG_SOURCE: 'datalist/CARSN_train.csv'\n  TEST_IMG_SOURCE: 'datalist/CARSN_test.csv'\n"
      "  TRAIN_BATCHSIZE: 64\n  TEST_BATCHSIZE: 128\n  NUM_WORKERS: 16\n  NUM_INSTANCES: 4\n"
      "VALIDATION:\n  VERBOSE: 100\nXBM:\n  ENABLE: True\n  WEIGHT: 1.0\n  SIZE: 9500\n  START_ITERATION: 0\n"
      "NOISE:\n  NOISE_RATE: 0.5\n  WINDOW_SIZE: 30\n  CHECK_NOISE: False\n";
  Config c;
  std::vector<std::string> warnings;
  apply_yaml_text(c, official, "cars.yaml", &warnings);
  REQUIRE(c.name == "CARSN-BN-MemoryContrastiveLossPRISM-sTRM");
  REQUIRE(c.data.train_img_source == "datalist/CARSN_train.csv");
  REQUIRE(c.losses.name == "memory_contrastive_loss_w_PRISM");
  // MODEL.BACKBONE (one warning for the whole map), MODEL.HEAD.IN_CHANNELS, TB_SAVE_DIR, DATA.NUM_WORKERS,
  // NOISE.CHECK_NOISE.
  REQUIRE(warnings.size() == 5);
  REQUIRE_THAT(warnings[0], Catch::Contains("cars.yaml:3") && Catch::Contains("MODEL.BACKBONE"));
  REQUIRE_THAT(warnings[4], Catch::Contains("NOISE.CHECK_NOISE"));
  c.data.dataset = "list";
  REQUIRE_NOTHROW(validate_config(c));
  Config d;
  REQUIRE_THROWS_WITH(apply_override(d, "SOLVER.RNG_SEED=3"), Catch::Contains("SEED"));
}

TEST_CASE("config: to_yaml writes every key and reads back to an equal config", "[data][config]") {
  Config c;
  c.name = "with \"quotes\" and: colon # hash";
  c.seed = 3;
  c.solver.base_lr = 3e-5;
  c.solver.warmup_iters = 10;
  c.losses.margin = 1.0 / 3.0;
  c.noise.inject_rate = 0.1;
  c.data.root = "/tmp/x y";
  c.data.prefetch = false;
  c.input.pixel_mean = {0.1, 0.2, 0.3};
  c.input.pixel_std = {1, 2, 3};
  c.data.dataset = "cub";
  c.data.split = "open";
  const std::string y = config_to_yaml(c);
  INFO(y);
  REQUIRE_THAT(y, Catch::Contains("SOLVER:\n") && Catch::Contains("  BASE_LR: 3.0e-05") &&
                      Catch::Contains("MODEL:\n  NAME: \"fmnist-cnn\"") &&
                      Catch::Contains("  HEAD:\n    DIM: 512"));
  Config back;
  apply_yaml_text(back, y, "resolved.yaml");
  REQUIRE(back == c);
  REQUIRE(config_to_yaml(back) == y);
  Config defaults;
  Config back2;
  apply_yaml_text(back2, config_to_yaml(defaults), "defaults.yaml");
  REQUIRE(back2 == defaults);
  REQUIRE(config_value_text(c, "INPUT.CROP_SCALE") == "[0.2, 1.0]");
  REQUIRE(config_value_text(c, "NOISE.INJECT_RATE") == "0.1");
  // Every key of the table appears in the output.
  for (const auto& k : config_keys(c)) {
    const std::string leaf = k.name.substr(k.name.rfind('.') + 1);
    CAPTURE(k.name);
    REQUIRE_THAT(y, Catch::Contains(leaf + ": "));
  }
}

TEST_CASE("config: every key of the table is documented in docs/config.md with its default",
          "[data][config]") {
  const std::string doc = prism::read_file(std::string(PRISM_SOURCE_DIR) + "/docs/config.md");
  Config c;
  for (const ConfigKey& key : config_keys(c)) {
    INFO(key.name << " (docs/config.md's key table must list every key of config_keys)");
    CHECK(doc.find("| `" + key.name + "` | `" + config_value_text(c, key.name) + "` |") != std::string::npos);
  }
}
