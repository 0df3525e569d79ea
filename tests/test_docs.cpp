// The docs match the code: every "DESIGN §N" / "DESIGN §N.M" citation in the sources and docs resolves to a
// numbered heading of docs/design.md (the spec the code cites), naming the file and line of one that does not.
#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

#include "prism/core/io.hpp"

namespace fs = std::filesystem;

TEST_CASE("docs: every DESIGN § citation resolves to a section of docs/design.md", "[docs]") {
  const std::string root = PRISM_SOURCE_DIR;
  std::set<std::string> sections;  // "3", "4.5", …
  {
    std::istringstream in(prism::read_file(root + "/docs/design.md"));
    const std::regex heading(R"(^#{2,3} §([0-9]+(\.[0-9]+)?) )");
    std::smatch m;
    for (std::string line; std::getline(in, line);)
      if (std::regex_search(line, m, heading)) sections.insert(m[1]);
  }
  REQUIRE(sections.count("3"));
  REQUIRE(sections.count("4.5"));
  const std::regex citation(R"(DESIGN §([0-9]+(\.[0-9]+)?))");
  int citations = 0;
  for (const char* dir : {"include", "src", "backends", "tests", "docs"}) {
    for (const auto& e : fs::recursive_directory_iterator(root + "/" + dir)) {
      const std::string ext = e.path().extension().string();
      if (!e.is_regular_file() ||
          !(ext == ".hpp" || ext == ".cpp" || ext == ".cu" || ext == ".cuh" || ext == ".md" || ext == ".h"))
        continue;
      std::istringstream in(prism::read_file(e.path().string()));
      int line_number = 0;
      for (std::string line; std::getline(in, line);) {
        ++line_number;
        for (auto it = std::sregex_iterator(line.begin(), line.end(), citation); it != std::sregex_iterator();
             ++it) {
          ++citations;
          std::string section = (*it)[1];
          if (!section.empty() && section.back() == '.') section.pop_back();  // "DESIGN §4." ends a sentence
          INFO(e.path().string() << ":" << line_number << ": DESIGN §" << section << " is not a heading of "
                                 << "docs/design.md");
          CHECK(sections.count(section));
        }
      }
    }
  }
  CHECK(citations >= 30);
}
