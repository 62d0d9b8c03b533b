// The input side of an NV12 conversion, shared by nv12_to_rgb and nv12_scan_histogram.
#pragma once

#include "color_convert.cuh"
#include "tensor_view.h"

namespace tvf {

// y: (H, W) uint8; uv: (ceil(H/2), ceil(W/2), 2) uint8 interleaved Cb,Cr (shapes checked by the caller).
// Fills the plane pointers, pitches and input size; the output fields are the caller's.
YuvToRgbParams nv12_params(const TensorView& y, const TensorView& uv, int matrix, bool full_range);

}  // namespace tvf
