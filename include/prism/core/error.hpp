// prism::Error, the one exception type of the library (reference code). Its own header so the backends can
// throw it without depending on the runtime's process-wide settings.
#pragma once
#include <stdexcept>

namespace prism {

// Every user-facing failure is a prism::Error with a message that names the file, key or op involved.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace prism
