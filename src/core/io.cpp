// Atomic file writes and whole-file reads (reference code).
#include "prism/core/io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "prism/core/runtime.hpp"

namespace prism {

namespace {
// Writes `bytes` to a new temp file next to `path` (fsync'd, mode 0644) and returns its name.
std::string write_temp(const std::string& path, std::string_view bytes) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string temp_name = ".";  // built in steps: GCC 12 warns falsely (-Wrestrict) on "." + std::string
  temp_name += target.filename().string();
  temp_name += ".tmp.XXXXXX";
  std::string tmpl = (dir / temp_name).string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) throw Error("cannot write '" + path + "': " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmpl.c_str());
      throw Error("cannot write '" + path + "': " + std::strerror(e));
    }
    done += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int e = errno;
    ::unlink(tmpl.c_str());
    throw Error("cannot write '" + path + "': " + std::strerror(e));
  }
  ::chmod(tmpl.c_str(), 0644);
  return tmpl;
}

void rename_into_place(const std::string& temp, const std::string& path) {
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(temp.c_str());
    throw Error("cannot write '" + path + "': " + std::strerror(e));
  }
}
}  // namespace

void write_file_atomic(const std::string& path, std::string_view bytes) {
  rename_into_place(write_temp(path, bytes), path);
}

void write_files_atomic(const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<std::string> temps;
  try {
    for (const auto& [path, bytes] : files) temps.push_back(write_temp(path, bytes));
  } catch (...) {
    for (const std::string& t : temps) ::unlink(t.c_str());
    throw;
  }
  for (size_t i = 0; i < files.size(); ++i) {
    try {
      rename_into_place(temps[i], files[i].first);
    } catch (...) {
      for (size_t k = i + 1; k < temps.size(); ++k) ::unlink(temps[k].c_str());
      throw;
    }
  }
}

std::string read_file(const std::string& path) {
  // An ifstream opens a directory without complaint and then reads nothing, which readers reported as an
  // empty or malformed file.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error("cannot read '" + path + "': it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "': " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error("error reading '" + path + "'");
  return ss.str();
}

void make_directories(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) throw Error("cannot create directory '" + path + "': " + ec.message());
}

// Shortest text that reads back to the same double, always with a '.' or exponent so that YAML 1.1 readers
// (PyYAML, yacs) see a float: "0.5", "3.0e-05", "1.0".
std::string double_text(double v) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, ptr);
  const size_t e = s.find_first_of("eE");
  std::string mant = e == std::string::npos ? s : s.substr(0, e);
  const std::string exp = e == std::string::npos ? "" : s.substr(e);
  if (mant.find('.') == std::string::npos) mant += ".0";
  return mant + exp;
}

}  // namespace prism
