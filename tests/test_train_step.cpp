// The training step (TrainingRun::step) against DESIGN §4.5's iteration order: the selection reads the memory
// as it was before the step (its P_clean recomputed from a snapshot of the memory taken before the step
// agrees bit for bit), only the kept rows are enqueued (xbm: every row), with the values the forward pass
// produced (detached: no graph, not the post-update network's), and the memory never requires grad. Plus
// the method table's rows as the step uses them.
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>

#include "prism/core/runtime.hpp"
#include "prism/dml/clean_probability.hpp"
#include "prism/dml/methods.hpp"
#include "prism/train/data_setup.hpp"
#include "prism/train/run.hpp"

using namespace prism;

namespace {

const char* kFashionMnist = "/usr/share/datasets/fashion-mnist";

Config step_config(const std::string& method) {
  Config c;
  c.seed = 5;
  c.model.head_dim = 16;
  c.solver.base_lr = 2e-3;
  c.solver.max_iters = 40;
  c.xbm.size = 48;  // small: the ring wraps within the test
  c.xbm.start_iteration = 2;
  c.noise.method = method;
  c.noise.type = "symmetric";
  c.noise.noise_rate = 0.5;
  c.noise.window_size = 5;
  c.data.root = kFashionMnist;
  c.data.train_batchsize = 16;
  c.data.num_instances = 4;
  c.data.train_per_class = 30;
  c.data.test_per_class = 5;
  c.data.prefetch = false;
  c.run.mode = "exact";
  return c;
}

std::vector<float> row(const std::vector<float>& m, int64_t r, int64_t d) {
  return {m.begin() + r * d, m.begin() + (r + 1) * d};
}

}  // namespace

TEST_CASE("train step: the memory is read before it is written, only kept rows enter it, detached",
          "[train][step]") {
  if (!std::filesystem::exists(std::string(kFashionMnist) + "/train-images-idx3-ubyte.gz"))
    FAIL("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
  ScopedMode exact(Mode::exact);
  for (const char* method : {"prism", "xbm", "knn"}) {
    const Config c = step_config(method);
    const DataSetup data = open_datasets(c);
    TrainingRun run(c, data.train, DeviceType::cpu);
    dml::MemoryBank* bank = run.memory();
    REQUIRE(bank != nullptr);
    const int64_t d = c.model.head_dim;
    int64_t selected_steps = 0, partial_steps = 0;
    for (int64_t it = 0; it < 12; ++it) {
      INFO("method " << method << ", iteration " << it);
      // The memory as it is before the step: a copy built from its saved state.
      dml::StateDict before_state;
      bank->save_state(before_state);
      dml::MemoryBank before(bank->capacity(), bank->dim(), bank->num_classes());
      before.load_state(before_state);
      const std::vector<float> before_rows =
          before.size() ? before.embeddings().to_vector() : std::vector<float>{};
      const int64_t before_next = before.next_slot(), before_size = before.size();

      const Batch batch = run.load_batch(it);
      const StepResult r = run.step(batch);
      const std::vector<int32_t> labels = batch.labels.to_vector_i32();
      const int64_t n = static_cast<int64_t>(labels.size());
      Tensor emb;
      for (const auto& [name, t] : run.state_tensors())
        if (name == "embeddings") emb = t;
      REQUIRE(emb.defined());
      const std::vector<float> e = emb.to_vector();

      if (it < c.xbm.start_iteration) {
        CHECK(!r.memory_on);
        CHECK(bank->size() == 0);  // nothing enqueued before the memory starts
        continue;
      }
      REQUIRE(r.memory_on);
      // Read before write: P_clean (knn: the kNN scores) from the snapshot equals the step's, bit for bit.
      if (!r.selection.p_clean.empty()) {
        ++selected_steps;
        const std::vector<float> p = std::string(method) == "knn"
                                         ? dml::knn_scores(emb, labels, before, c.noise.knn_k)
                                         : dml::clean_probability_center(emb, labels, before);
        REQUIRE(p.size() == r.selection.p_clean.size());
        CHECK(std::memcmp(p.data(), r.selection.p_clean.data(), p.size() * sizeof(float)) == 0);
      }
      // Write: the rows the method's policy names, in batch order, at the next slots, with the forward
      // pass's values (the step's embeddings, taken before the optimizer moved the weights).
      std::vector<int64_t> entered;
      for (int64_t i = 0; i < n; ++i)
        if (std::string(method) == "xbm" || r.selection.keep[i]) entered.push_back(i);
      if (static_cast<int64_t>(entered.size()) < n) ++partial_steps;
      CHECK(bank->size() == std::min(bank->capacity(), before_size + static_cast<int64_t>(entered.size())));
      const std::vector<float> after = bank->embeddings().to_vector();
      const std::vector<int32_t> after_labels = bank->labels();
      const std::vector<int64_t> after_samples = bank->sample_indices();
      for (size_t k = 0; k < entered.size(); ++k) {
        const int64_t slot = (before_next + static_cast<int64_t>(k)) % bank->capacity();
        const int64_t i = entered[k];
        CHECK(row(after, slot, d) == row(e, i, d));
        CHECK(after_labels[slot] == labels[i]);
        CHECK(after_samples[slot] == batch.indices[i]);
      }
      // Every other slot is unchanged.
      for (int64_t slot = 0; slot < before_size; ++slot) {
        const int64_t offset = (slot - before_next + bank->capacity()) % bank->capacity();
        if (offset < static_cast<int64_t>(entered.size())) continue;
        CHECK(row(after, slot, d) == row(before_rows, slot, d));
      }
      CHECK(!bank->embeddings().requires_grad());
    }
    if (std::string(method) != "xbm") {
      CHECK(selected_steps >= 8);  // the selection ran against a non-empty memory
      CHECK(partial_steps >= 8);   // and removed samples, so "only the kept rows" was tested
    }
  }
}

TEST_CASE("train step: the method table drives memory, selection and enqueueing", "[train][step]") {
  CHECK(dml::method_names_text() == "contrastive, xbm, trm, prism, oracle, knn");
  for (const dml::MethodSpec& m : dml::methods()) {
    INFO(m.name);
    CHECK(&dml::method_spec(m.name) == &m);
    CHECK(m.uses_memory == (m.enqueue != dml::EnqueuePolicy::none));
    CHECK((m.selection == dml::SelectMethod::oracle) == m.needs_noise_flags);
  }
  CHECK_THROWS_WITH(dml::method_spec("magic"), Catch::Contains("contrastive, xbm, trm, prism, oracle, knn"));
  Config c = step_config("prism");
  c.xbm.enable = false;
  for (const char* m : {"xbm", "trm", "prism", "oracle", "knn"}) {
    c.noise.method = m;
    CHECK_THROWS_WITH(validate_config(c), Catch::Contains("XBM.ENABLE"));
  }
  c = step_config("knn");
  CHECK_NOTHROW(validate_config(c));
  c.noise.knn_k = 0;
  CHECK_THROWS_WITH(validate_config(c), Catch::Contains("NOISE.KNN_K"));
  c.noise.knn_k = 10;
  c.noise.knn_alpha = 1.5;
  CHECK_THROWS_WITH(validate_config(c), Catch::Contains("NOISE.KNN_ALPHA"));
  c = step_config("prism");
  c.xbm.enable = false;
  c.noise.method = "contrastive";
  CHECK_NOTHROW(validate_config(c));
  c.noise.clean_probability = "median";
  CHECK_THROWS_WITH(validate_config(c), Catch::Contains("NOISE.CLEAN_PROBABILITY"));
}
