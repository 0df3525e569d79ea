// Tests of the step profiler (prism/core/profile.hpp) as `prism bench train` uses it: a profiled training
// step has an entry for each layer's forward and backward, the loss, selection, optimizer and enqueue
// phases; the entries add up to the step's wall time; profiling changes no bit of the run's state; nesting
// gives exclusive times.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>

#include "prism/core/profile.hpp"
#include "prism/core/runtime.hpp"
#include "prism/core/timing.hpp"
#include "prism/train/data_setup.hpp"
#include "prism/train/run.hpp"

using namespace prism;

namespace {

// The bytes of a host tensor (f32 or i32 words).
const void* host_words(const Tensor& t) {
  return t.dtype() == DType::f32 ? static_cast<const void*>(t.data_f32())
                                 : static_cast<const void*>(t.data_i32());
}

const char* kFashionMnist = "/usr/share/datasets/fashion-mnist";

Config profile_config() {
  Config c;
  c.seed = 4;
  c.model.head_dim = 16;
  c.solver.max_iters = 10;
  c.xbm.size = 64;
  c.xbm.start_iteration = 0;
  c.noise.method = "prism";
  c.noise.type = "symmetric";
  c.noise.noise_rate = 0.3;
  c.noise.window_size = 3;
  c.data.root = kFashionMnist;
  c.data.train_batchsize = 16;
  c.data.num_instances = 4;
  c.data.train_per_class = 20;
  c.data.test_per_class = 2;
  c.data.prefetch = false;
  c.run.mode = "exact";
  return c;
}

// Turns the profiler off however the test ends.
struct ProfilerOn {
  ProfilerOn() { profile::set_enabled(true); }
  ~ProfilerOn() { profile::set_enabled(false); }
};

}  // namespace

TEST_CASE("profile: nested scopes record exclusive times, and off records nothing", "[profile]") {
  profile::set_enabled(false);
  profile::reset();
  { profile::Scope s("ignored"); }
  CHECK(profile::entries().empty());
  CHECK(profile::current_label() == nullptr);
  ProfilerOn on;
  {
    profile::Scope outer("outer");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    {
      profile::Scope inner("inner");
      REQUIRE(profile::current_label() != nullptr);
      CHECK(*profile::current_label() == "inner");
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
  }
  const auto e = profile::entries();
  REQUIRE(e.size() == 2);
  CHECK(e[0].path == "outer/inner");  // closed first
  CHECK(e[1].path == "outer");
  CHECK(e[0].seconds >= 0.029);
  CHECK(e[1].seconds >= 0.019);
  CHECK(e[1].seconds < e[0].seconds + 0.019);  // the inner 30 ms are not counted twice
}

TEST_CASE("profile: a training step's breakdown names every layer and phase and adds up to the step",
          "[profile][train]") {
  if (!std::filesystem::exists(std::string(kFashionMnist) + "/train-images-idx3-ubyte.gz"))
    FAIL("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
  ScopedMode exact(Mode::exact);
  const Config c = profile_config();
  const DataSetup data = open_datasets(c);
  TrainingRun plain(c, data.train, DeviceType::cpu), profiled(c, data.train, DeviceType::cpu);
  plain.step(plain.load_batch(0));
  profiled.step(profiled.load_batch(0));
  double wall = 0;
  std::vector<profile::Entry> entries;
  {
    ProfilerOn on;
    for (int64_t it = 1; it < 3; ++it) {
      const Batch b = profiled.load_batch(it);
      const auto t0 = BenchClock::now();
      profiled.step(b);
      wall += seconds_since(t0);
    }
    entries = profile::entries();
  }
  for (int64_t it = 1; it < 3; ++it) plain.step(plain.load_batch(it));

  std::set<std::string> paths;
  double attributed = 0;
  for (const auto& e : entries) {
    paths.insert(e.path);
    attributed += e.seconds;
    CHECK(e.seconds >= 0);
  }
  for (const char* p : {"step/forward/conv1", "step/forward/bn1", "step/forward/relu1", "step/forward/pool1",
                        "step/forward/conv3", "step/forward/fc", "step/forward/norm", "step/backward/conv2",
                        "step/backward/bn3", "step/backward/fc", "step/backward/loss", "step/selection",
                        "step/loss", "step/optimizer", "step/enqueue", "step"}) {
    INFO("profiler path " << p);
    CHECK(paths.count(p) == 1);
  }
  // The step scope covers step() but for its last few statements: the entries add up to the wall time.
  INFO("attributed " << attributed << " s of " << wall << " s");
  CHECK(attributed <= wall * 1.001);
  CHECK(attributed >= wall * 0.9);

  // Timing only: the profiled run's state is bit-identical to the plain one's.
  const auto a = plain.state_tensors(), b = profiled.state_tensors();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("state tensor " << a[i].first);
    REQUIRE(a[i].second.numel() == b[i].second.numel());
    CHECK(std::memcmp(host_words(a[i].second), host_words(b[i].second), a[i].second.numel() * 4) == 0);
  }
}
