// Tests of the Tensor layer (reference): construction, reshape views, copies, device tags, and the errors the
// ops raise for bad arguments (a prism::Error whose message names the op and the offending shapes).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "prism/core/autograd.hpp"
#include "prism/core/ops.hpp"
#include "prism/core/runtime.hpp"

using prism::DType;
using prism::Shape;
using prism::Tensor;

namespace {

// Runs f, requires a prism::Error, and returns its message.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const prism::Error& e) {
    return e.what();
  }
  FAIL("expected a prism::Error");
  return {};
}

}  // namespace

TEST_CASE("tensor: construction, metadata and contents", "[core]") {
  Tensor z = Tensor::zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.numel() == 6);
  CHECK(z.dim() == 2);
  CHECK(z.size(-1) == 3);
  CHECK(z.dtype() == DType::f32);
  CHECK(z.device() == prism::DeviceType::cpu);
  CHECK(z.describe() == "f32[2, 3] on cpu");
  CHECK(z.to_vector() == std::vector<float>(6, 0.0f));
  CHECK(Tensor::full({4}, 2.5f).to_vector() == std::vector<float>(4, 2.5f));
  Tensor l = Tensor::from_vector_i32({3}, {4, -1, 7});
  CHECK(l.dtype() == DType::i32);
  CHECK(l.to_vector_i32() == std::vector<int32_t>{4, -1, 7});
  CHECK(Tensor::from_vector({1}, {3.25f}).item() == 3.25f);
  Tensor e = Tensor::empty({0, 5});
  CHECK(e.numel() == 0);
  CHECK(e.to_vector().empty());

  CHECK_THAT(error_of([] {
               Tensor::from_vector({2, 2}, {1, 2, 3});
             }),
             Catch::Contains("3 values for shape [2, 2]"));
  CHECK_THAT(error_of([&] { z.size(2); }), Catch::Contains("axis 2"));
  CHECK_THAT(error_of([&] { z.item(); }), Catch::Contains("f32[2, 3]"));
  CHECK_THAT(error_of([&] { l.data_f32(); }), Catch::Contains("i32[3]"));
  CHECK_THAT(error_of([&] { l.set_requires_grad(); }), Catch::Contains("only f32"));
  CHECK_THROWS_AS(Tensor::zeros({-1, 2}), prism::Error);
}

TEST_CASE("tensor: reshape is a view; clone, detach and copy_from copy or share as documented", "[core]") {
  Tensor a = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor v = a.reshape({3, -1});
  CHECK(v.shape() == Shape{3, 2});
  CHECK(v.same_storage(a));
  v.fill(7.0f);
  CHECK(a.to_vector() == std::vector<float>(6, 7.0f));
  CHECK_THAT(error_of([&] { a.reshape({4, 2}); }), Catch::Contains("[4, 2]"));
  CHECK_THROWS_AS(a.reshape({-1, -1}), prism::Error);

  Tensor b = Tensor::from_vector({3}, {1, 2, 3});
  Tensor c = b.clone();
  CHECK_FALSE(c.same_storage(b));
  c.fill(0.0f);
  CHECK(b.to_vector() == std::vector<float>{1, 2, 3});
  Tensor d = b.detach();
  CHECK(d.same_storage(b));
  CHECK(b.to(prism::DeviceType::cpu).same_storage(b));

  Tensor dst = Tensor::zeros({3});
  dst.copy_from(b);
  CHECK(dst.to_vector() == std::vector<float>{1, 2, 3});
  CHECK_THAT(error_of([&] { dst.copy_from(Tensor::zeros({4})); }), Catch::Contains("copy_from"));
}

TEST_CASE("tensor: requires_grad, detach and the recorded graph", "[core]") {
  Tensor x = Tensor::from_vector({2}, {1, 2});
  CHECK_FALSE(x.requires_grad());
  x.set_requires_grad();
  Tensor y = prism::scale(x, 2.0f);
  CHECK(y.requires_grad());
  REQUIRE(y.grad_fn());
  CHECK(std::string(y.grad_fn()->name) == "scale");
  CHECK_FALSE(y.detach().requires_grad());
  CHECK_THAT(error_of([&] { y.backward(); }), Catch::Contains("one-element"));
  prism::sum(y).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{2, 2});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("ops: bad arguments raise prism::Error naming the op and the shapes", "[core]") {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
  CHECK_THAT(error_of([&] { prism::matmul(a, b); }),
             Catch::Contains("matmul") && Catch::Contains("f32[2, 3]"));
  CHECK_THAT(error_of([&] { prism::add(a, b); }), Catch::Contains("add") && Catch::Contains("f32[4, 5]"));
  CHECK_THAT(error_of([&] { prism::linear(a, b, Tensor()); }), Catch::Contains("linear"));
  CHECK_THAT(error_of([&] { prism::sum_rows(Tensor::zeros({2})); }), Catch::Contains("sum_rows"));
  CHECK_THAT(error_of([&] { prism::gram(Tensor::zeros({2, 3, 4})); }), Catch::Contains("gram"));
  CHECK_THAT(error_of([&] {
               prism::l2_normalize(Tensor::zeros({2, 3, 4}));
             }),
             Catch::Contains("l2_normalize"));
  CHECK_THAT(error_of([&] { prism::mean(Tensor::zeros({0})); }), Catch::Contains("mean"));
  const Tensor x = Tensor::zeros({1, 2, 5, 5});
  CHECK_THAT(error_of([&] {
               prism::conv2d(x, Tensor::zeros({3, 4, 3, 3}), Tensor(), 1, 0);
             }),
             Catch::Contains("conv2d"));
  CHECK_THAT(error_of([&] {
               prism::conv2d(x, Tensor::zeros({3, 2, 7, 7}), Tensor(), 1, 0);
             }),
             Catch::Contains("kernel larger"));
  CHECK_THAT(error_of([&] {
               prism::conv2d(x, Tensor::zeros({3, 2, 3, 3}), Tensor(), 0, 0);
             }),
             Catch::Contains("stride"));
  CHECK_THAT(error_of([&] { prism::max_pool2d(x, 3, 1, 2); }), Catch::Contains("max_pool2d"));
  CHECK_THAT(error_of([&] {
               prism::avg_pool2d(Tensor::zeros({2, 5}), 2, 2);
             }),
             Catch::Contains("avg_pool2d"));
  Tensor g = Tensor::full({2}, 1.0f), bt = Tensor::zeros({2}), rm = Tensor::zeros({2}),
         rv = Tensor::full({2}, 1.0f);
  CHECK_THAT(error_of([&] {
               prism::batch_norm(Tensor::zeros({4, 3}), g, bt, rm, rv, true, 0.1f, 1e-5f);
             }),
             Catch::Contains("batch_norm") && Catch::Contains("[3]"));
  CHECK_THAT(error_of([&] {
               prism::batch_norm(Tensor::zeros({1, 2}), g, bt, rm, rv, true, 0.1f, 1e-5f);
             }),
             Catch::Contains("more than one value"));
  CHECK_THAT(error_of([] { prism::parse_mode("quick"); }), Catch::Contains("quick"));
  CHECK_THAT(error_of([] { prism::parse_device("tpu"); }), Catch::Contains("tpu"));
  CHECK_THAT(error_of([] { prism::set_num_threads(-2); }), Catch::Contains("-2"));
}

TEST_CASE("runtime: mode and thread scopes restore the previous setting", "[core]") {
  const prism::Mode before = prism::mode();
  {
    prism::ScopedMode m(prism::Mode::fast);
    CHECK(prism::mode() == prism::Mode::fast);
    {
      prism::ScopedMode e(prism::Mode::exact);
      CHECK(prism::mode() == prism::Mode::exact);
    }
    CHECK(prism::mode() == prism::Mode::fast);
  }
  CHECK(prism::mode() == before);
  const int threads = prism::num_threads();
  {
    prism::ScopedThreads t(1);
    CHECK(prism::num_threads() == 1);
  }
  CHECK(prism::num_threads() == threads);
  CHECK(prism::device_available(prism::DeviceType::cpu));
  if (!prism::device_available(prism::DeviceType::cuda)) {
    CHECK_FALSE(prism::device_unavailable_reason(prism::DeviceType::cuda).empty());
    CHECK_THAT(error_of([] { prism::backend(prism::DeviceType::cuda); }), Catch::Contains("cuda"));
  }
}
