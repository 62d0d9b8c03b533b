// DOVER fragment gather ("fragments" technical view, models.md §1.6), per output pixel.
// Reference: talkvid_fast/quality/reference.py::fragments_ref (NumPy). Semantics, shared by every twin:
//   frames (N, H, W, 3) uint8 RGB, N = clips * L; the output mosaic of clip c is an Fh x Fw grid of
//   P x P patches; cell (i, j) of clip c copies frames[c*L + t, top[c,i,j] + y, left[c,i,j] + x, ch]
//   for y, x in [0, P); every value is normalised as (v - mean[ch]) / std[ch] in float32 and written
//   to out (clips, 3, L, Fh*P, Fw*P) float32 (the model's layout). mean = 0, std = 1 gives raw values.
#pragma once
#include <cstdint>

#include "common.cuh"

namespace tvf {

struct FragmentParams {
  const uint8_t* frames;  // (N, H, W, 3) RGB, channels and pixels compact
  int64_t frame_stride;   // bytes between frames
  int64_t row_stride;     // bytes between rows
  int in_h, in_w;
  const int32_t* top;     // (clips, fh, fw) patch origins (row), compact
  const int32_t* left;    // (clips, fh, fw) patch origins (column), compact
  int clips, length;      // frames per clip L
  int fh, fw, patch;      // grid and patch size P
  float* out;             // (clips, 3, L, fh*P, fw*P) float32, compact
  float mean[3], std[3];
};

// Total output pixels (each writes 3 channels).
TVF_HD int64_t fragment_pixels(const FragmentParams& p) {
  return static_cast<int64_t>(p.clips) * p.length * (p.fh * p.patch) * (p.fw * p.patch);
}

TVF_HD void fragment_gather_pixel(const FragmentParams& p, int64_t idx) {
  const int out_w = p.fw * p.patch, out_h = p.fh * p.patch;
  const int x = static_cast<int>(idx % out_w);
  int64_t r = idx / out_w;
  const int y = static_cast<int>(r % out_h);
  r /= out_h;
  const int t = static_cast<int>(r % p.length);
  const int c = static_cast<int>(r / p.length);
  const int i = y / p.patch, j = x / p.patch;
  const int cell = (c * p.fh + i) * p.fw + j;
  int sy = p.top[cell] + y % p.patch;
  int sx = p.left[cell] + x % p.patch;
  // Origins are validated by the callers; clamping keeps a bad origin from reading out of bounds.
  sy = sy < 0 ? 0 : (sy >= p.in_h ? p.in_h - 1 : sy);
  sx = sx < 0 ? 0 : (sx >= p.in_w ? p.in_w - 1 : sx);
  const uint8_t* src = p.frames + static_cast<int64_t>(c * p.length + t) * p.frame_stride +
                       static_cast<int64_t>(sy) * p.row_stride + static_cast<int64_t>(sx) * 3;
  const int64_t plane = static_cast<int64_t>(p.length) * out_h * out_w;
  float* dst = p.out + static_cast<int64_t>(c) * 3 * plane + (static_cast<int64_t>(t) * out_h + y) * out_w + x;
  for (int ch = 0; ch < 3; ++ch) {
    dst[ch * plane] = (static_cast<float>(src[ch]) - p.mean[ch]) / p.std[ch];
  }
}

#ifdef TVF_WITH_CUDA
// Launches the CUDA kernel on `stream` (a cudaStream_t as an integer); throws on a launch error.
void fragment_gather_cuda(const FragmentParams& p, intptr_t stream);
#endif

}  // namespace tvf
