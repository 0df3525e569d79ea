// .npy reader and writer (reference code). Parses the header dict ('descr', 'fortran_order', 'shape')
// strictly enough to reject what we cannot read (big-endian, Fortran order, object arrays, truncated data) by
// name.
#include "prism/data/npy.hpp"

#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>

#include "prism/core/io.hpp"
#include "prism/core/runtime.hpp"

namespace prism {

namespace {
size_t type_size(NpyType t) {
  switch (t) {
    case NpyType::f32:
      return 4;
    case NpyType::f64:
      return 8;
    case NpyType::i32:
      return 4;
    case NpyType::i64:
      return 8;
    case NpyType::u8:
      return 1;
  }
  return 0;
}

const char* type_descr(NpyType t) {
  switch (t) {
    case NpyType::f32:
      return "<f4";
    case NpyType::f64:
      return "<f8";
    case NpyType::i32:
      return "<i4";
    case NpyType::i64:
      return "<i8";
    case NpyType::u8:
      return "|u1";
  }
  return "";
}

// Value of key `key` in the header dict: the text after "'key':" up to the next top-level comma or closing
// brace.
std::string header_value(const std::string& header, const std::string& key, const std::string& name) {
  size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) k = header.find("\"" + key + "\"");
  if (k == std::string::npos) throw Error(name + ": .npy header has no '" + key + "' entry: " + header);
  size_t colon = header.find(':', k);
  if (colon == std::string::npos) throw Error(name + ": malformed .npy header: " + header);
  size_t i = colon + 1;
  while (i < header.size() && header[i] == ' ') ++i;
  int depth = 0;
  size_t j = i;
  for (; j < header.size(); ++j) {
    char c = header[j];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
  }
  if (depth == 0 && j < header.size() && (header[j] == ')' || header[j] == ']')) ++j;
  return header.substr(i, j - i);
}
}  // namespace

const char* npy_type_name(NpyType t) {
  switch (t) {
    case NpyType::f32:
      return "float32";
    case NpyType::f64:
      return "float64";
    case NpyType::i32:
      return "int32";
    case NpyType::i64:
      return "int64";
    case NpyType::u8:
      return "uint8";
  }
  return "?";
}

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

NpyArray parse_npy(const std::string& bytes, const std::string& name) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    throw Error(name + ": not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw Error(name + ": truncated .npy header");
    for (int b = 0; b < 4; ++b)
      header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + b])) << (8 * b);
    offset = 12;
  } else {
    throw Error(name + ": unsupported .npy format version " + std::to_string(major));
  }
  if (bytes.size() < offset + header_len) throw Error(name + ": truncated .npy header");
  const std::string header = bytes.substr(offset, header_len);

  std::string descr = header_value(header, "descr", name);
  if (descr.size() >= 2 && (descr.front() == '\'' || descr.front() == '"'))
    descr = descr.substr(1, descr.size() - 2);
  NpyArray arr;
  if (descr == "<f4" || descr == "=f4")
    arr.type = NpyType::f32;
  else if (descr == "<f8" || descr == "=f8")
    arr.type = NpyType::f64;
  else if (descr == "<i4" || descr == "=i4")
    arr.type = NpyType::i32;
  else if (descr == "<i8" || descr == "=i8")
    arr.type = NpyType::i64;
  else if (descr == "|u1" || descr == "<u1")
    arr.type = NpyType::u8;
  else
    throw Error(name + ": unsupported .npy dtype '" + descr +
                "' (supported: float32 '<f4', float64 '<f8', int32 '<i4', int64 '<i8', uint8 '|u1')");

  const std::string fortran = header_value(header, "fortran_order", name);
  if (fortran.find("True") != std::string::npos)
    throw Error(name + ": Fortran-ordered .npy arrays are not supported (save with np.ascontiguousarray)");

  const std::string shape = header_value(header, "shape", name);
  size_t i = 0;
  while (i < shape.size()) {
    if (std::isdigit(static_cast<unsigned char>(shape[i]))) {
      size_t j = i;
      while (j < shape.size() && std::isdigit(static_cast<unsigned char>(shape[j]))) ++j;
      arr.shape.push_back(std::stoll(shape.substr(i, j - i)));
      i = j;
    } else {
      ++i;
    }
  }
  const size_t need = static_cast<size_t>(arr.numel()) * type_size(arr.type);
  const size_t have = bytes.size() - offset - header_len;
  if (have < need)
    throw Error(name + ": truncated .npy data: shape " + shape + " of " + npy_type_name(arr.type) +
                " needs " + std::to_string(need) + " bytes, file has " + std::to_string(have));
  arr.data = bytes.substr(offset + header_len, need);
  return arr;
}

NpyArray read_npy(const std::string& path) {
  return parse_npy(read_file(path), path);
}

NpyMatrix read_npy_f32_matrix(const std::string& path) {
  NpyArray a = read_npy(path);
  if (a.type != NpyType::f32)
    throw Error(path + ": expected a float32 array, got " + npy_type_name(a.type) +
                " (convert with arr.astype(np.float32))");
  if (a.shape.size() != 1 && a.shape.size() != 2)
    throw Error(path + ": expected a 2-D array [N, D], got " + std::to_string(a.shape.size()) +
                " dimensions");
  NpyMatrix m;
  m.rows = a.shape[0];
  m.cols = a.shape.size() == 2 ? a.shape[1] : 1;
  m.values.resize(static_cast<size_t>(m.rows * m.cols));
  std::memcpy(m.values.data(), a.data.data(), a.data.size());
  for (size_t i = 0; i < m.values.size(); ++i)
    if (!std::isfinite(m.values[i]))
      throw Error(path + ": non-finite value at row " + std::to_string(i / m.cols) + ", column " +
                  std::to_string(i % m.cols));
  return m;
}

std::vector<int32_t> read_npy_labels(const std::string& path) {
  NpyArray a = read_npy(path);
  if (!(a.shape.size() == 1 || (a.shape.size() == 2 && a.shape[1] == 1)))
    throw Error(path + ": labels must be a 1-D array (or [N, 1])");
  std::vector<int32_t> out(static_cast<size_t>(a.numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t v;
    if (a.type == NpyType::i32) {
      int32_t x;
      std::memcpy(&x, a.data.data() + 4 * i, 4);
      v = x;
    } else if (a.type == NpyType::i64) {
      std::memcpy(&v, a.data.data() + 8 * i, 8);
    } else {
      throw Error(path + ": labels must be int32 or int64, got " + npy_type_name(a.type));
    }
    if (v < 0 || v > std::numeric_limits<int32_t>::max())
      throw Error(path + ": label " + std::to_string(v) + " at index " + std::to_string(i) +
                  " is out of range (labels must be >= 0)");
    out[i] = static_cast<int32_t>(v);
  }
  return out;
}

std::string npy_bytes(NpyType type, const std::vector<int64_t>& shape, const void* data) {
  std::string dims;
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    dims += std::to_string(shape[i]) + (shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
    n *= shape[i];
  }
  std::string header =
      std::string("{'descr': '") + type_descr(type) + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Pad with spaces so that magic + 2 + 2 + header is a multiple of 64, ending in '\n' (format 1.0).
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  out += header;
  out.append(static_cast<const char*>(data), static_cast<size_t>(n) * type_size(type));
  return out;
}

void write_npy(const std::string& path, NpyType type, const std::vector<int64_t>& shape, const void* data) {
  write_file_atomic(path, npy_bytes(type, shape, data));
}

void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape,
                   const std::vector<float>& values) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (n != static_cast<int64_t>(values.size()))
    throw Error("write_npy_f32: shape does not match value count");
  write_npy(path, NpyType::f32, shape, values.data());
}

void write_npy_i32(const std::string& path, const std::vector<int32_t>& values) {
  write_npy(path, NpyType::i32, {static_cast<int64_t>(values.size())}, values.data());
}

void write_npy_i64(const std::string& path, const std::vector<int64_t>& values) {
  write_npy(path, NpyType::i64, {static_cast<int64_t>(values.size())}, values.data());
}

}  // namespace prism
