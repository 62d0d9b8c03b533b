// talkvid_fast._native: DLPack-in, DLPack-out ops for this package and for other pipelines.
#include <pybind11/pybind11.h>

#include "ops.h"

#ifndef TVF_CUDA_VERSION
#define TVF_CUDA_VERSION ""
#endif
#ifndef TVF_CUDA_ARCHS
#define TVF_CUDA_ARCHS ""
#endif

namespace py = pybind11;

PYBIND11_MODULE(_native, m) {
  m.doc() = "talkvid_fast native ops (C++ CPU twins; CUDA kernels when built with a CUDA toolkit)";
  py::dict info;
#ifdef TVF_WITH_CUDA
  info["cuda"] = true;
#else
  info["cuda"] = false;
#endif
  info["cuda_version"] = TVF_CUDA_VERSION;
  info["cuda_architectures"] = TVF_CUDA_ARCHS;
  info["compiler"] =
#if defined(__clang__)
      "clang " __clang_version__;
#elif defined(__GNUC__)
      "gcc " __VERSION__;
#else
      "unknown";
#endif
  m.attr("build_info") = info;
  tvf::register_color_convert(m);
  tvf::register_fragments(m);
  tvf::register_face_warp(m);
  tvf::register_scan_histogram(m);
}
