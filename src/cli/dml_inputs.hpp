// Input loading shared by the DML commands (eval, select, noise): float32 embedding matrices and integer
// labels from .npy files, checked for dtype, rank, emptiness and matching lengths, with the file named in
// every error.
#pragma once
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "prism/core/io.hpp"
#include "prism/core/runtime.hpp"
#include "prism/core/tensor.hpp"
#include "prism/data/npy.hpp"

namespace prism::cli {

struct Embeddings {
  int64_t rows = 0, cols = 0;
  std::vector<float> values;
};

// A float32 [N, D] array with N, D ≥ 1 and finite values.
inline Embeddings load_embeddings(const std::string& path, const char* what) {
  const std::string bytes = read_file(path);
  if (bytes.empty()) throw Error(path + ": empty file (expected a float32 .npy array of " + what + ")");
  const NpyArray a = parse_npy(bytes, path);
  if (a.type != NpyType::f32)
    throw Error(path + ": " + what + " must be float32, got " + npy_type_name(a.type) +
                " (convert with arr.astype(np.float32))");
  if (a.shape.size() != 2)
    throw Error(path + ": " + what + " must be a 2-D array [N, D], got " + std::to_string(a.shape.size()) +
                " dimension(s)");
  if (a.shape[0] < 1 || a.shape[1] < 1)
    throw Error(path + ": " + what + " array is empty (shape [" + std::to_string(a.shape[0]) + ", " +
                std::to_string(a.shape[1]) + "])");
  Embeddings e;
  e.rows = a.shape[0];
  e.cols = a.shape[1];
  e.values.resize(static_cast<size_t>(e.rows * e.cols));
  std::memcpy(e.values.data(), a.data.data(), e.values.size() * sizeof(float));
  for (size_t i = 0; i < e.values.size(); ++i)
    if (!std::isfinite(e.values[i]))
      throw Error(path + ": non-finite value at row " + std::to_string(i / e.cols) + ", column " +
                  std::to_string(i % e.cols));
  return e;
}

// int32 / int64 labels, >= 0, one per row of the matching embeddings (expected_rows < 0: any length ≥ 1).
inline std::vector<int32_t> load_labels(const std::string& path, int64_t expected_rows,
                                        const std::string& rows_from) {
  if (read_file(path).empty())
    throw Error(path + ": empty file (expected an int32/int64 .npy array of labels)");
  std::vector<int32_t> y = read_npy_labels(path);
  if (y.empty()) throw Error(path + ": the label array is empty");
  if (expected_rows >= 0 && static_cast<int64_t>(y.size()) != expected_rows)
    throw Error(path + ": " + std::to_string(y.size()) + " labels, but " + rows_from + " has " +
                std::to_string(expected_rows) + " rows");
  return y;
}

inline Tensor to_tensor(const Embeddings& e, DeviceType device) {
  return Tensor::from_vector({e.rows, e.cols}, e.values, device);
}

}  // namespace prism::cli
