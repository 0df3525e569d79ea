#!/usr/bin/env bash
# Downloads (does not install) the Debian packages prism builds against into .debs/ at the repository root, for a GPU
# machine that has CUDA, CMake, g++ and python3 but none of them and no network (tests/gpu/run_device_checks.sh
# unpacks them under /tmp with dpkg -x). Checks that each package holds the files the build needs. Run it here,
# then pass .debs to the device machine (the run tool's carry list). .debs/ is git-ignored.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dest="$root/.debs"

# package → files (regular expressions over `dpkg -c` paths) that the build or the run needs from it
declare -A need=(
  [libeigen3-dev]='usr/include/eigen3/Eigen/Core$ usr/share/eigen3/cmake/Eigen3Config.cmake$'
  [libtbb-dev]='usr/include/oneapi/tbb.h$ usr/include/tbb/parallel_for.h$ cmake/TBB/TBBConfig.cmake$ libtbb.so$'
  [libtbb12]='libtbb.so.12'
  [libtbbmalloc2]='libtbbmalloc.so.2'
  [libtbbbind-2-5]='libtbbbind_2_5.so.3'
  [libhwloc15]='libhwloc.so.15'
  [libyaml-cpp-dev]='usr/include/yaml-cpp/yaml.h$ cmake/yaml-cpp/yaml-cpp-config.cmake$ libyaml-cpp.so$'
  [libyaml-cpp0.7]='libyaml-cpp.so.0.7'
  [libcli11-dev]='usr/include/CLI/CLI.hpp$ cmake/CLI11/CLI11Config.cmake$'
  [nlohmann-json3-dev]='usr/include/nlohmann/json.hpp$ cmake/nlohmann_json/nlohmann_jsonConfig.cmake$'
  [libstb-dev]='usr/include/stb/stb_image.h$ usr/include/stb/stb_image_write.h$'
  [libstb0]='libstb.so.0'
  [catch2]='usr/include/catch2/catch.hpp$ cmake/Catch2/Catch2Config.cmake$ cmake/Catch2/Catch.cmake$'
  [zlib1g-dev]='usr/include/zlib.h$ libz.so$'
  [zlib1g]='libz.so.1'
  # prism check runs the trainer's step on the default experiment's data
  [dataset-fashion-mnist]='usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz$'
)

mkdir -p "$dest"
rm -f "$dest"/*.deb
cd "$dest"
if ! apt-get download "${!need[@]}" >/dev/null 2>"$dest/.apt.err"; then
  echo "fetch_deps: apt-get download failed, refreshing the package lists once" >&2
  apt-get update >/dev/null
  apt-get download "${!need[@]}" >/dev/null
fi
rm -f "$dest/.apt.err"

missing=0
for pkg in "${!need[@]}"; do
  deb=$(ls "$dest/${pkg}_"*.deb 2>/dev/null | head -1 || true)
  if [[ -z "$deb" ]]; then
    echo "fetch_deps: $pkg was not downloaded" >&2
    missing=1
    continue
  fi
  listing=$(dpkg -c "$deb" | awk '{print $6}')
  for pattern in ${need[$pkg]}; do
    if ! grep -Eq "$pattern" <<<"$listing"; then
      echo "fetch_deps: $deb has no file matching $pattern" >&2
      missing=1
    fi
  done
done
if ((missing)); then
  echo "fetch_deps: FAILED (see above)" >&2
  exit 1
fi
echo "fetch_deps: $(ls "$dest"/*.deb | wc -l) packages, $(du -sh "$dest" | cut -f1), every needed file present, in $dest"
