// .npy reader and writer (reference code). Parses the header dict ('descr', 'fortran_order', 'shape')
// strictly enough to reject what we cannot read (big-endian, Fortran order, object arrays, truncated data) by
// name.
#include "prism/data/npy.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "prism/core/checked.hpp"
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

// The header dict, parsed strictly as the Python literal numpy writes: exactly the keys 'descr' (a string),
// 'fortran_order' (True or False) and 'shape' (a tuple of non-negative integers), in any order, an optional
// trailing comma, then only spaces and the closing '\n'. Anything else is rejected with the file named, so a
// damaged header never reads as some other shape (a lenient scan read '(-20, 4)' as (20, 4)).
struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& name) : s_(text), name_(name) {}

  NpyHeader parse() {
    NpyHeader h;
    bool have_descr = false, have_fortran = false, have_shape = false;
    skip_space();
    expect('{', "the header dict must start with '{'");
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal("a quoted key");
      skip_space();
      expect(':', "expected ':' after key '" + key + "'");
      skip_space();
      if (key == "descr") {
        if (have_descr) fail("key 'descr' appears twice");
        h.descr = string_literal("a quoted dtype for 'descr'");
        have_descr = true;
      } else if (key == "fortran_order") {
        if (have_fortran) fail("key 'fortran_order' appears twice");
        h.fortran_order = boolean();
        have_fortran = true;
      } else if (key == "shape") {
        if (have_shape) fail("key 'shape' appears twice");
        h.shape = tuple();
        have_shape = true;
      } else {
        fail("unexpected key '" + key + "' (expected 'descr', 'fortran_order' and 'shape')");
      }
      skip_space();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      if (peek() != '}') fail("expected ',' or '}' after the value of '" + key + "'");
    }
    ++i_;  // '}'
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t')) ++i_;
    if (i_ != s_.size()) fail("unexpected text after the closing '}'");
    if (!have_descr) fail("no 'descr' entry");
    if (!have_fortran) fail("no 'fortran_order' entry");
    if (!have_shape) fail("no 'shape' entry");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    // The header is at most a few lines of text; quoting it (cut to 200 bytes) shows what was there.
    std::string shown = s_.substr(0, 200);
    for (char& c : shown)
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    throw Error(name_ + ": malformed .npy header (" + why + " at byte " + std::to_string(i_) + "): " + shown);
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n')) ++i_;
  }
  void expect(char c, const std::string& why) {
    if (peek() != c) fail(why);
    ++i_;
  }
  std::string string_literal(const std::string& what) {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected " + what);
    const size_t begin = ++i_;
    while (i_ < s_.size() && s_[i_] != q) {
      if (s_[i_] == '\\' || static_cast<unsigned char>(s_[i_]) < 0x20)
        fail("unsupported character in " + what);
      ++i_;
    }
    if (i_ >= s_.size()) fail("unterminated string in " + what);
    return s_.substr(begin, i_++ - begin);
  }
  bool boolean() {
    if (s_.compare(i_, 4, "True") == 0) {
      i_ += 4;
      return true;
    }
    if (s_.compare(i_, 5, "False") == 0) {
      i_ += 5;
      return false;
    }
    fail("'fortran_order' must be True or False");
  }
  std::vector<int64_t> tuple() {
    std::vector<int64_t> dims;
    bool comma = false;
    expect('(', "'shape' must be a tuple such as (3, 4)");
    for (;;) {
      skip_space();
      if (peek() == ')') break;
      if (peek() == '}' || i_ >= s_.size()) fail("unclosed '(' in 'shape'");
      if (peek() == '-') fail("negative dimension in 'shape'");
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("'shape' entries must be integers");
      int64_t v = 0;
      const char* b = s_.data() + i_;
      auto [ptr, ec] = std::from_chars(b, s_.data() + s_.size(), v);
      if (ec != std::errc()) fail("dimension too large in 'shape'");
      i_ += static_cast<size_t>(ptr - b);
      dims.push_back(v);
      skip_space();
      if (peek() == ',') {
        ++i_;
        comma = true;
        continue;
      }
      if (peek() == '}' || i_ >= s_.size()) fail("unclosed '(' in 'shape'");
      if (peek() != ')') fail("expected ',' or ')' in 'shape'");
    }
    // Python reads "(5)" as the integer 5, not a shape; numpy writes a 1-tuple as "(5,)".
    if (dims.size() == 1 && !comma) fail("'shape' (n) is not a tuple; a 1-D shape is written (n,)");
    ++i_;  // ')'
    return dims;
  }

  const std::string& s_;
  const std::string& name_;
  size_t i_ = 0;
};
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
  return checked_numel(shape, "npy array");
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

  const NpyHeader h = HeaderParser(header, name).parse();
  const std::string& descr = h.descr;
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
  if (h.fortran_order)
    throw Error(name + ": Fortran-ordered .npy arrays are not supported (save with np.ascontiguousarray)");
  arr.shape = h.shape;
  const int64_t need_bytes =
      checked_bytes(arr.shape, static_cast<int64_t>(type_size(arr.type)), name + ": .npy header");
  const size_t need = static_cast<size_t>(need_bytes);
  const size_t have = bytes.size() - offset - header_len;
  if (have < need)
    throw Error(name + ": truncated .npy data: shape " + shape_string(arr.shape) + " of " +
                npy_type_name(arr.type) + " needs " + std::to_string(need) + " bytes, file has " +
                std::to_string(have));
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
  if (!m.values.empty()) std::memcpy(m.values.data(), a.data.data(), m.values.size() * sizeof(float));
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
  const int64_t bytes = checked_bytes(shape, static_cast<int64_t>(type_size(type)), "write_npy");
  for (size_t i = 0; i < shape.size(); ++i)
    dims += std::to_string(shape[i]) + (shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
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
  out.append(static_cast<const char*>(data), static_cast<size_t>(bytes));
  return out;
}

void write_npy(const std::string& path, NpyType type, const std::vector<int64_t>& shape, const void* data) {
  write_file_atomic(path, npy_bytes(type, shape, data));
}

void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape,
                   const std::vector<float>& values) {
  if (checked_numel(shape, "write_npy_f32") != static_cast<int64_t>(values.size()))
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
