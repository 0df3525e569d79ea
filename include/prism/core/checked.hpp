// Checked size arithmetic shared by every reader of untrusted files (npy, IDX, safetensors, images): counts
// and byte sizes that would wrap, negative dimensions and too-wide integers become a prism::Error naming the
// file, not a short allocation and a crash later. Reference code, header only.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "prism/core/runtime.hpp"

namespace prism {

// "[16, 1152921504606846977]", for messages.
inline std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// a * b for non-negative a, b; throws "<what>: <detail> overflows" when the product exceeds int64.
inline int64_t checked_mul(int64_t a, int64_t b, const std::string& what, const std::string& detail) {
  if (a < 0 || b < 0) throw Error(what + ": negative size in " + detail);
  if (a != 0 && b > std::numeric_limits<int64_t>::max() / a) throw Error(what + ": " + detail + " overflows");
  return a * b;
}

// Product of the dimensions; every dimension must be >= 0 and the product must fit in int64.
// `what` names the file (and tensor) for the message.
inline int64_t checked_numel(const std::vector<int64_t>& shape, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error(what + ": negative dimension in shape " + shape_string(shape));
    n = checked_mul(n, d, what, "shape " + shape_string(shape));
  }
  return n;
}

// numel(shape) * element_size, checked; also bounded by what a size_t (and so a std::string) can index.
inline int64_t checked_bytes(const std::vector<int64_t>& shape, int64_t element_size,
                             const std::string& what) {
  const int64_t n = checked_numel(shape, what);
  const int64_t bytes = checked_mul(
      n, element_size, what,
      "byte size of shape " + shape_string(shape) + " x " + std::to_string(element_size) + "-byte elements");
  if (static_cast<uint64_t>(bytes) > static_cast<uint64_t>(std::numeric_limits<std::ptrdiff_t>::max()))
    throw Error(what + ": shape " + shape_string(shape) + " is too large");
  return bytes;
}

// Converts v to the narrower integer type T, or throws "<what> must be in [min, max], got v" instead of
// wrapping (3000000000 as int would read as -1294967296).
template <class T, class V>
T checked_narrow(V v, const std::string& what) {
  static_assert(std::is_integral_v<T> && std::is_integral_v<V>);
  if (!std::in_range<T>(v))
    throw Error(what + " must be in [" + std::to_string(std::numeric_limits<T>::min()) + ", " +
                std::to_string(std::numeric_limits<T>::max()) + "], got " + std::to_string(v));
  return static_cast<T>(v);
}

}  // namespace prism
