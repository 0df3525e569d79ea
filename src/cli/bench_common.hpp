// Shared by the benchmarks that compare with PyTorch (bench train, bench resnet): running a Python twin
// script and reading its JSON answer, and their synthetic inputs. Reference wiring (no shell is involved: paths are never interpreted).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "prism/core/random.hpp"

// Where the twin scripts live (tests/reference/…): the source tree, as CMake passes it.
#ifndef PRISM_SOURCE_DIR
#define PRISM_SOURCE_DIR "."
#endif

namespace prism::cli {

// Runs argv[0] with the arguments, standard output and error captured into *output; returns the exit status
// (-1 when it could not run).
int run_process(const std::vector<std::string>& argv, std::string* output);

// Runs `script args…` with the first interpreter that can run it ($PRISM_PYTHON, python3, then Debian's
// /usr/bin/python3, which python3-torch serves even when another python3 is first on the PATH) and returns
// the JSON object it printed last, with "python" added — or {"error": why}.
nlohmann::json run_python_twin(const std::string& script, const std::vector<std::string>& args);

// Puts the twin's result into the report r: r["pytorch"] = its JSON when it measured (holds `key`), else null
// with r["pytorch_error"] = why; returns whether it measured (the caller then adds its ratios).
bool record_twin(nlohmann::ordered_json& r, const nlohmann::json& torch, const char* key);

// Prints r as one JSON object when `json` is set; returns whether it did (the text report is then skipped).
bool print_json_report(const nlohmann::ordered_json& r, bool json);

// n numbers uniform in [lo, hi) from rng: the benchmarks' synthetic inputs.
std::vector<float> uniform_floats(size_t n, Rng& rng, float lo, float hi);

}  // namespace prism::cli
