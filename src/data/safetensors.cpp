// safetensors reader and writer (reference code; layout rules in safetensors.hpp).
#include "prism/data/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "prism/core/checked.hpp"
#include "prism/core/io.hpp"
#include "prism/core/runtime.hpp"

namespace prism {

namespace {
constexpr uint64_t kMaxHeader = 100'000'000;  // the reference implementation's limit

bool parse_dtype(const std::string& s, StDType* t) {
  static const std::pair<const char*, StDType> table[] = {
      {"F32", StDType::F32}, {"F64", StDType::F64}, {"I32", StDType::I32},  {"I64", StDType::I64},
      {"U8", StDType::U8},   {"F16", StDType::F16}, {"BF16", StDType::BF16}};
  for (const auto& [name, type] : table)
    if (s == name) {
      *t = type;
      return true;
    }
  return false;
}

std::string shape_text(const std::vector<int64_t>& s) {
  return shape_string(s);
}
}  // namespace

const char* st_dtype_name(StDType t) {
  switch (t) {
    case StDType::F32:
      return "F32";
    case StDType::F64:
      return "F64";
    case StDType::I32:
      return "I32";
    case StDType::I64:
      return "I64";
    case StDType::U8:
      return "U8";
    case StDType::F16:
      return "F16";
    case StDType::BF16:
      return "BF16";
  }
  return "?";
}

size_t st_dtype_size(StDType t) {
  switch (t) {
    case StDType::F32:
      return 4;
    case StDType::F64:
      return 8;
    case StDType::I32:
      return 4;
    case StDType::I64:
      return 8;
    case StDType::U8:
      return 1;
    case StDType::F16:
    case StDType::BF16:
      return 2;
  }
  return 0;
}

int64_t StTensor::numel() const {
  return checked_numel(shape, "safetensors tensor");
}

// ---- building ---------------------------------------------------------------------------------------------

void SafeTensors::put(const std::string& name, StDType dtype, const std::vector<int64_t>& shape,
                      const void* data) {
  if (name.empty() || name == "__metadata__") throw Error("safetensors: invalid tensor name '" + name + "'");
  StTensor t;
  t.dtype = dtype;
  t.shape = shape;
  const int64_t bytes =
      checked_bytes(shape, static_cast<int64_t>(st_dtype_size(dtype)), "safetensors: tensor '" + name + "'");
  t.data.assign(static_cast<const char*>(data), static_cast<size_t>(bytes));
  tensors[name] = std::move(t);
}

void SafeTensors::put(const std::string& name, const Tensor& t) {
  if (t.dtype() == DType::f32) {
    put(name, StDType::F32, t.shape(), t.to_vector().data());
  } else {
    put(name, StDType::I32, t.shape(), t.to_vector_i32().data());
  }
}

void SafeTensors::put_f32(const std::string& name, const std::vector<int64_t>& shape,
                          const std::vector<float>& v) {
  if (checked_numel(shape, name) != static_cast<int64_t>(v.size()))
    throw Error("safetensors: tensor '" + name + "': " + std::to_string(v.size()) + " values for shape " +
                shape_text(shape));
  put(name, StDType::F32, shape, v.data());
}
void SafeTensors::put_i32(const std::string& name, const std::vector<int64_t>& shape,
                          const std::vector<int32_t>& v) {
  if (checked_numel(shape, name) != static_cast<int64_t>(v.size()))
    throw Error("safetensors: tensor '" + name + "': " + std::to_string(v.size()) + " values for shape " +
                shape_text(shape));
  put(name, StDType::I32, shape, v.data());
}
void SafeTensors::put_i64(const std::string& name, const std::vector<int64_t>& shape,
                          const std::vector<int64_t>& v) {
  if (checked_numel(shape, name) != static_cast<int64_t>(v.size()))
    throw Error("safetensors: tensor '" + name + "': " + std::to_string(v.size()) + " values for shape " +
                shape_text(shape));
  put(name, StDType::I64, shape, v.data());
}
void SafeTensors::put_u8(const std::string& name, const std::vector<int64_t>& shape,
                         const std::vector<uint8_t>& v) {
  if (checked_numel(shape, name) != static_cast<int64_t>(v.size()))
    throw Error("safetensors: tensor '" + name + "': " + std::to_string(v.size()) + " values for shape " +
                shape_text(shape));
  put(name, StDType::U8, shape, v.data());
}

// ---- reading ----------------------------------------------------------------------------------------------

const StTensor& SafeTensors::at(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw Error(source + ": no tensor named '" + name + "'");
  return it->second;
}

namespace {
template <class T>
std::vector<T> typed(const SafeTensors& st, const std::string& name, StDType want,
                     const std::vector<int64_t>* shape) {
  const StTensor& t = st.at(name);
  if (t.dtype != want)
    throw Error(st.source + ": tensor '" + name + "' has dtype " + st_dtype_name(t.dtype) + ", expected " +
                st_dtype_name(want));
  if (shape && *shape != t.shape)
    throw Error(st.source + ": tensor '" + name + "' has shape " + shape_text(t.shape) + ", expected " +
                shape_text(*shape));
  std::vector<T> out(static_cast<size_t>(t.numel()));
  if (!out.empty()) std::memcpy(out.data(), t.data.data(), out.size() * sizeof(T));
  return out;
}
}  // namespace

std::vector<float> SafeTensors::get_f32(const std::string& name, const std::vector<int64_t>* shape) const {
  return typed<float>(*this, name, StDType::F32, shape);
}
std::vector<int32_t> SafeTensors::get_i32(const std::string& name, const std::vector<int64_t>* shape) const {
  return typed<int32_t>(*this, name, StDType::I32, shape);
}
std::vector<int64_t> SafeTensors::get_i64(const std::string& name, const std::vector<int64_t>* shape) const {
  return typed<int64_t>(*this, name, StDType::I64, shape);
}
std::vector<uint8_t> SafeTensors::get_u8(const std::string& name, const std::vector<int64_t>* shape) const {
  return typed<uint8_t>(*this, name, StDType::U8, shape);
}

namespace {
// IEEE binary16 → binary32, exactly (every half is a float): normal, subnormal, zero, infinity, NaN.
float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1Fu, mantissa = h & 0x3FFu;
  uint32_t bits;
  if (exponent == 0x1Fu) {
    bits = sign | 0x7F800000u | (mantissa << 13);  // infinity or NaN (payload kept)
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);  // rebias 15 → 127
  } else if (mantissa == 0) {
    bits = sign;  // ±0
  } else {
    // Subnormal half: mantissa · 2^-24, a normal float; shift until the leading 1 reaches bit 10.
    int e = -1;
    uint32_t m = mantissa;
    do {
      ++e;
      m <<= 1;
    } while ((m & 0x400u) == 0);
    bits = sign | ((112u - static_cast<uint32_t>(e)) << 23) | ((m & 0x3FFu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
}  // namespace

std::vector<float> SafeTensors::get_as_f32(const std::string& name, const std::vector<int64_t>* shape) const {
  const StTensor& t = at(name);
  if (shape && *shape != t.shape)
    throw Error(source + ": tensor '" + name + "' has shape " + shape_text(t.shape) + ", expected " +
                shape_text(*shape));
  const size_t n = static_cast<size_t>(t.numel());
  std::vector<float> out(n);
  const char* raw = t.data.data();
  switch (t.dtype) {
    case StDType::F32:
      if (n) std::memcpy(out.data(), raw, n * 4);
      break;
    case StDType::F64:
      for (size_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, raw + 8 * i, 8);
        out[i] = static_cast<float>(d);
      }
      break;
    case StDType::F16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, raw + 2 * i, 2);
        out[i] = half_to_float(h);
      }
      break;
    case StDType::BF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, raw + 2 * i, 2);
        const uint32_t bits = static_cast<uint32_t>(h) << 16;  // bfloat16 is the top half of a float
        std::memcpy(&out[i], &bits, 4);
      }
      break;
    default:
      throw Error(source + ": tensor '" + name + "' has dtype " + st_dtype_name(t.dtype) +
                  ", expected a floating dtype (F32, F64, F16, BF16)");
  }
  return out;
}

Tensor SafeTensors::get_tensor(const std::string& name, DeviceType device) const {
  const StTensor& t = at(name);
  if (t.dtype == StDType::F32) return Tensor::from_vector(t.shape, get_f32(name), device);
  if (t.dtype == StDType::I32) return Tensor::from_vector_i32(t.shape, get_i32(name), device);
  throw Error(source + ": tensor '" + name + "' has dtype " + st_dtype_name(t.dtype) +
              ", which has no Tensor equivalent (F32 or I32 expected)");
}

const std::string& SafeTensors::meta(const std::string& key) const {
  auto it = metadata.find(key);
  if (it == metadata.end()) throw Error(source + ": metadata has no key '" + key + "'");
  return it->second;
}

// ---- serialisation ----------------------------------------------------------------------------------------

std::string safetensors_bytes(const SafeTensors& st) {
  std::vector<std::pair<std::string, const StTensor*>> order;
  for (const auto& [name, t] : st.tensors) order.emplace_back(name, &t);
  // Larger elements first keeps every tensor aligned to its element size (the data section starts 8-aligned).
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return st_dtype_size(a.second->dtype) > st_dtype_size(b.second->dtype);
  });
  nlohmann::json header = nlohmann::json::object();
  if (!st.metadata.empty()) {
    nlohmann::json meta = nlohmann::json::object();
    for (const auto& [k, v] : st.metadata) meta[k] = v;
    header["__metadata__"] = meta;
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : order) {
    const uint64_t size = t->data.size();
    if (static_cast<int64_t>(size) != checked_bytes(t->shape, static_cast<int64_t>(st_dtype_size(t->dtype)),
                                                    "safetensors: tensor '" + name + "'"))
      throw Error("safetensors: tensor '" + name + "' holds " + std::to_string(size) + " bytes for shape " +
                  shape_text(t->shape));
    header[name] = {
        {"dtype", st_dtype_name(t->dtype)}, {"shape", t->shape}, {"data_offsets", {offset, offset + size}}};
    offset += size;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("safetensors: cannot encode the header (metadata must be valid UTF-8): ") +
                e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  const uint64_t n = text.size();
  for (int b = 0; b < 8; ++b) out[b] = static_cast<char>((n >> (8 * b)) & 0xff);
  out += text;
  out.reserve(out.size() + offset);
  for (const auto& [name, t] : order) out += t->data;
  return out;
}

void write_safetensors(const std::string& path, const SafeTensors& st) {
  write_file_atomic(path, safetensors_bytes(st));
}

SafeTensors parse_safetensors(const std::string& bytes, const std::string& name) {
  if (bytes.size() < 8)
    throw Error(name + ": not a safetensors file (shorter than the 8-byte header length)");
  uint64_t n = 0;
  for (int b = 0; b < 8; ++b) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[b])) << (8 * b);
  if (n > kMaxHeader)
    throw Error(name + ": safetensors header length " + std::to_string(n) + " is too large");
  if (n > bytes.size() - 8)
    throw Error(name + ": truncated safetensors file (header length " + std::to_string(n) + ", file has " +
                std::to_string(bytes.size() - 8) + " bytes after it)");
  const std::string text = bytes.substr(8, n);
  if (text.empty() || text[0] != '{') throw Error(name + ": safetensors header does not start with '{'");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(name + ": safetensors header is not valid JSON: " + e.what());
  }
  if (!header.is_object()) throw Error(name + ": safetensors header is not a JSON object");

  SafeTensors st;
  st.source = name;
  struct Entry {
    std::string name;
    StDType dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object()) throw Error(name + ": '__metadata__' must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          throw Error(name + ": '__metadata__' value of '" + m.key() + "' is not a string");
        st.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = name + ": tensor '" + key + "'";
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      throw Error(where + ": expected {dtype, shape, data_offsets}");
    Entry e;
    e.name = key;
    if (!v["dtype"].is_string() || !parse_dtype(v["dtype"].get<std::string>(), &e.dtype))
      throw Error(where + ": unsupported dtype " + v["dtype"].dump() +
                  " (supported: F32, F64, I32, I64, U8)");
    if (!v["shape"].is_array()) throw Error(where + ": shape is not an array");
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) throw Error(where + ": shape entries must be non-negative integers");
      if (d.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        throw Error(where + ": shape entry " + d.dump() + " is too large");
      e.shape.push_back(d.get<int64_t>());
    }
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw Error(where + ": data_offsets must be [begin, end]");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.end < e.begin) throw Error(where + ": data_offsets end < begin");
    // Checked: numel * element size can wrap 64 bits and match a small data_offsets range.
    const int64_t need = checked_bytes(e.shape, static_cast<int64_t>(st_dtype_size(e.dtype)), where);
    if (static_cast<uint64_t>(need) != e.end - e.begin)
      throw Error(where + ": shape " + shape_text(e.shape) + " of " + st_dtype_name(e.dtype) + " needs " +
                  std::to_string(need) + " bytes, data_offsets give " + std::to_string(e.end - e.begin));
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const uint64_t data_size = bytes.size() - 8 - n;
  uint64_t expect = 0;
  for (const Entry& e : entries) {
    if (e.begin != expect)
      throw Error(name + ": tensor '" + e.name + "' starts at offset " + std::to_string(e.begin) +
                  ", expected " + std::to_string(expect) +
                  " (tensor data must be contiguous, without gaps or overlaps)");
    expect = e.end;
  }
  if (expect != data_size)
    throw Error(name + ": tensor data covers " + std::to_string(expect) + " bytes but the file has " +
                std::to_string(data_size) + " after the header (truncated or trailing data)");
  for (Entry& e : entries) {
    StTensor t;
    t.dtype = e.dtype;
    t.shape = std::move(e.shape);
    t.data = bytes.substr(8 + n + e.begin, e.end - e.begin);
    st.tensors[e.name] = std::move(t);
  }
  return st;
}

SafeTensors read_safetensors(const std::string& path) {
  return parse_safetensors(read_file(path), path);
}

}  // namespace prism
