// NumPy .npy files (format versions 1.0–3.0), read and written without numpy: float32 matrices (embeddings,
// features) and int32/int64 vectors (labels). Reference code; every error names the file and what was wrong.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace prism {

enum class NpyType { f32, f64, i32, i64, u8 };
const char* npy_type_name(NpyType t);

struct NpyArray {
  NpyType type = NpyType::f32;
  std::vector<int64_t> shape;
  std::string data;  // raw little-endian, C order
  int64_t numel() const;
};

NpyArray read_npy(const std::string& path);
NpyArray parse_npy(const std::string& bytes, const std::string& name);  // name is used in error messages

// A float32 matrix [rows, cols] (a 1-D array is read as [n, 1]). Other dtypes are rejected with the file
// named.
struct NpyMatrix {
  int64_t rows = 0, cols = 0;
  std::vector<float> values;
};
NpyMatrix read_npy_f32_matrix(const std::string& path);

// Integer labels from a 1-D (or [n, 1]) int32 or int64 array; values must fit in int32 and be >= 0.
std::vector<int32_t> read_npy_labels(const std::string& path);

// Writers (atomic: temp file + rename).
std::string npy_bytes(NpyType type, const std::vector<int64_t>& shape, const void* data);
void write_npy(const std::string& path, NpyType type, const std::vector<int64_t>& shape, const void* data);
void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape,
                   const std::vector<float>& values);
void write_npy_i32(const std::string& path, const std::vector<int32_t>& values);
void write_npy_i64(const std::string& path, const std::vector<int64_t>& values);

}  // namespace prism
