// File helpers shared by every writer: atomic writes (temp file in the same directory + fsync + rename), so a
// crash or a full disk never leaves half a result or checkpoint behind; whole-file reads with errors that
// name the path.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace prism {

// Writes `bytes` to `path` atomically. Throws prism::Error naming the path (and errno text) on failure, and
// leaves any existing file at `path` untouched.
void write_file_atomic(const std::string& path, std::string_view bytes);

// Writes several files (path, bytes) as one step: every file goes to a temp file first, and only when all of
// them are written are they renamed into place, so an output that fails (missing directory, full disk) leaves
// none of the others behind. Throws prism::Error naming the path that failed.
void write_files_atomic(const std::vector<std::pair<std::string, std::string>>& files);

// Reads a whole file; throws prism::Error naming the path when it is missing or unreadable.
std::string read_file(const std::string& path);

// Shortest text that reads back to the same double, always with a '.' or an exponent so that YAML 1.1
// readers (PyYAML, yacs) see a float: "0.5", "3.0e-05", "1.0". Configs and checkpoint metadata use it.
std::string double_text(double v);

// Creates a directory and its parents; throws prism::Error naming it on failure.
void make_directories(const std::string& path);

}  // namespace prism
