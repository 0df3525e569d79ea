#include <catch2/catch.hpp>

#include "prism/core/ops.hpp"

TEST_CASE("smoke: matmul forward", "[core]") {
  using namespace prism;
  Tensor a = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = Tensor::from_vector({3, 2}, {1, 0, 0, 1, 1, 1});
  auto c = matmul(a, b).to_vector();
  REQUIRE(c == std::vector<float>{4, 5, 10, 11});
}
