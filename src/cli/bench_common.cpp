// Running the benchmarks' Python twins (bench_common.hpp). Reference wiring.
#include "cli/bench_common.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace prism::cli {

int run_process(const std::vector<std::string>& argv, std::string* output) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  char buf[4096];
  for (ssize_t got; (got = read(fds[0], buf, sizeof buf)) > 0;) output->append(buf, static_cast<size_t>(got));
  close(fds[0]);
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

namespace {

nlohmann::json run_with(const std::string& python, const std::string& script,
                        const std::vector<std::string>& args) {
  std::vector<std::string> argv{python, script};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  const int status = run_process(argv, &out);
  // The answer is the last line that starts with '{' (a nested object has other braces after it).
  size_t brace = out.rfind("\n{");
  brace = brace != std::string::npos ? brace + 1 : (out.rfind('{', 0) == 0 ? 0 : std::string::npos);
  if (status != 0 || brace == std::string::npos) {
    if (out.size() > 300) out = "…" + out.substr(out.size() - 300);
    return {{"error", "PyTorch comparison unavailable (" + python + "): " + out}};
  }
  nlohmann::json j = nlohmann::json::parse(out.substr(brace), nullptr, false);
  if (j.is_discarded()) return {{"error", "unreadable output of " + script}};
  j["python"] = python;
  return j;
}

}  // namespace

nlohmann::json run_python_twin(const std::string& script, const std::vector<std::string>& args) {
  std::vector<std::string> pythons;
  if (const char* env = std::getenv("PRISM_PYTHON"); env && *env) pythons.push_back(env);
  pythons.push_back("python3");
  pythons.push_back("/usr/bin/python3");
  nlohmann::json last = {{"error", "no python3"}};
  for (const std::string& py : pythons) {
    last = run_with(py, script, args);
    if (!last.contains("error")) return last;
  }
  return last;
}

std::vector<float> uniform_floats(size_t n, Rng& rng, float lo, float hi) {
  std::vector<float> v(n);
  for (auto& x : v) x = rng.uniform(lo, hi);
  return v;
}

bool record_twin(nlohmann::ordered_json& r, const nlohmann::json& torch, const char* key) {
  if (torch.contains(key)) {
    r["pytorch"] = torch;
    return true;
  }
  r["pytorch"] = nullptr;
  r["pytorch_error"] = torch.value("error", "unknown");
  return false;
}

bool print_json_report(const nlohmann::ordered_json& r, bool json) {
  if (json) std::printf("%s\n", r.dump(2).c_str());
  return json;
}

}  // namespace prism::cli
