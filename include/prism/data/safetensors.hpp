// safetensors files (the Hugging Face format PyTorch loads): an 8-byte little-endian header length N, N bytes
// of JSON ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, …, optional "__metadata__": {str:
// str}}), then the raw little-endian tensor data. Read and written without Python. Reference code. Writer
// layout: tensors ordered by element size (largest first), then name, so each one is naturally aligned; the
// header is padded with spaces to a multiple of 8 bytes; the output is a pure function of the contents
// (byte-identical checkpoints for identical states). Writes are atomic.
// Reader checks what the reference implementation checks: header bounds, JSON shape, known dtypes, offsets
// contiguous from 0 in order, each size = numel × element size, and the data ending exactly at the file's
// end.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "prism/core/tensor.hpp"

namespace prism {

enum class StDType { F32, F64, I32, I64, U8, F16, BF16 };
const char* st_dtype_name(StDType t);  // "F32", …
size_t st_dtype_size(StDType t);

struct StTensor {
  StDType dtype = StDType::F32;
  std::vector<int64_t> shape;
  std::string data;  // raw little-endian, C order
  int64_t numel() const;
};

struct SafeTensors {
  std::map<std::string, StTensor> tensors;
  std::map<std::string, std::string> metadata;  // the "__metadata__" map

  // ---- building -------------------------------------------------------------------------------------------
  void put(const std::string& name, StDType dtype, const std::vector<int64_t>& shape, const void* data);
  void put(const std::string& name, const Tensor& t);  // f32 → F32, i32 → I32; downloads from any device
  void put_f32(const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& v);
  void put_i32(const std::string& name, const std::vector<int64_t>& shape, const std::vector<int32_t>& v);
  void put_i64(const std::string& name, const std::vector<int64_t>& shape, const std::vector<int64_t>& v);
  void put_u8(const std::string& name, const std::vector<int64_t>& shape, const std::vector<uint8_t>& v);

  // ---- reading (errors name `source`, the tensor and what was expected) -----------------------------------
  bool has(const std::string& name) const { return tensors.count(name) != 0; }
  const StTensor& at(const std::string& name) const;
  // Typed getters: the dtype must match; `shape`, when given, must match too.
  std::vector<float> get_f32(const std::string& name, const std::vector<int64_t>* shape = nullptr) const;
  std::vector<int32_t> get_i32(const std::string& name, const std::vector<int64_t>* shape = nullptr) const;
  std::vector<int64_t> get_i64(const std::string& name, const std::vector<int64_t>* shape = nullptr) const;
  std::vector<uint8_t> get_u8(const std::string& name, const std::vector<int64_t>* shape = nullptr) const;
  // Any floating dtype (F32, F64, F16, BF16) converted to float: F16 and BF16 exactly (every such value is a
  // float), F64 rounded to nearest. Integer dtypes are rejected, naming the tensor.
  std::vector<float> get_as_f32(const std::string& name, const std::vector<int64_t>* shape = nullptr) const;
  // F32 → f32 tensor, I32 → i32 tensor (other dtypes are rejected), on `device`.
  Tensor get_tensor(const std::string& name, DeviceType device = DeviceType::cpu) const;
  const std::string& meta(const std::string& key) const;  // throws naming the key when absent

  std::string source = "<memory>";  // file name for messages
};

std::string safetensors_bytes(const SafeTensors& st);
void write_safetensors(const std::string& path, const SafeTensors& st);  // atomic
SafeTensors parse_safetensors(const std::string& bytes, const std::string& name);
SafeTensors read_safetensors(const std::string& path);

}  // namespace prism
