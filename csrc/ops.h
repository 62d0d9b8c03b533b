// Each native op file defines one register_* function; module.cpp calls them all.
#pragma once
#include <pybind11/pybind11.h>

namespace tvf {
void register_color_convert(pybind11::module_& m);
void register_fragments(pybind11::module_& m);
void register_face_warp(pybind11::module_& m);
void register_scan_histogram(pybind11::module_& m);
}  // namespace tvf
