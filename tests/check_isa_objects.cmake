# CTest script (prism:isa_objects): the ISA variant object files (backends/cpu/isa_*.cpp, each compiled with
# its own -m flags) must define no weak or vague-linkage symbol and reference no C++ symbol: one such symbol
# (an inline function or template instantiated there) would be merged with the other variants' copies at
# link time, and the linker might keep the AVX-512 one on the baseline path (the ODR trap, isa_kernels.inc).
# Usage: cmake -DNM=<nm> -DOBJECTS="a.o|b.o|..." -P check_isa_objects.cmake
string(REPLACE "|" ";" objects "${OBJECTS}")
set(checked 0)
foreach(obj IN LISTS objects)
  get_filename_component(name "${obj}" NAME)
  if(NOT name MATCHES "^isa_(baseline|avx2|avx512)\\.cpp\\.o(bj)?$")
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  execute_process(COMMAND "${NM}" "${obj}" OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "nm failed on ${obj}")
  endif()
  string(REPLACE "\n" ";" lines "${symbols}")
  foreach(line IN LISTS lines)
    # "<address> <type> <name>" or "                 U <name>"
    if(line MATCHES "^[0-9a-fA-F ]+ ([A-Za-z]) (.+)$")
      set(type "${CMAKE_MATCH_1}")
      set(sym "${CMAKE_MATCH_2}")
      # Allowed in instrumented builds (-DPRISM_FUZZ=ON): type information (_ZTI/_ZTS, the function-type
      # descriptors UBSan's -fsanitize=function emits), the same data in every variant, and the coverage
      # sections' bounds (__start___sancov_*); both are data, so a merged copy is harmless. Code is not.
      if(type MATCHES "^[WVvwui]$" AND NOT sym MATCHES "^(_ZT[IS]|__(start|stop)___sancov_)")
        message(FATAL_ERROR "${name}: weak/vague symbol '${sym}' (type ${type}) could merge across ISA variants")
      endif()
      # (The C++ runtime's own type-info vtables, _ZTVN10__cxxabiv1..., are not another variant's code.)
      if(type STREQUAL "U" AND sym MATCHES "^_Z" AND NOT sym MATCHES "^_ZTVN10__cxxabiv1")
        message(FATAL_ERROR "${name}: references the C++ symbol '${sym}', which may resolve to another variant's code")
      endif()
    endif()
  endforeach()
endforeach()
if(checked EQUAL 0)
  message(FATAL_ERROR "no ISA variant object among the library's objects")
endif()
message(STATUS "${checked} ISA variant objects: no weak or shared C++ symbols")
