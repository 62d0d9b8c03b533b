// YUV 4:2:0 (NV12 or I420) -> RGB uint8 with a bilinear resize, per output pixel.
// Reference: talkvid_fast/reference/color.py (NumPy). Semantics, shared by every twin:
//   1. each source pixel is converted to RGB (float) with its 2x2-subsampled chroma sample (nearest);
//   2. the RGB image is resized bilinearly with half-pixel centres (src = (dst + 0.5) * in / out - 0.5,
//      clamped to the image), like cv2.INTER_LINEAR and torch's align_corners=False, no antialias;
//   3. the result is rounded to nearest and clamped to [0, 255].
#pragma once
#include <cstdint>

#include "common.cuh"

namespace tvf {

struct YuvToRgbParams {
  const uint8_t* y;     // (H, W) luma, row stride y_pitch bytes
  const uint8_t* u;     // chroma U at (ceil(H/2), ceil(W/2)); for NV12 the interleaved UV plane
  const uint8_t* v;     // chroma V; for NV12 u + 1
  int64_t y_pitch;      // bytes between luma rows
  int64_t c_pitch;      // bytes between chroma rows
  int c_step;           // bytes between chroma samples in a row: 2 for NV12, 1 for I420
  int in_h, in_w;
  uint8_t* out;         // (out_h, out_w, 3) RGB, row stride out_pitch bytes
  int64_t out_pitch;
  int out_h, out_w;
  // RGB = ys * (Y - y0) + [cr_r * Cr', -(cb_g * Cb' + cr_g * Cr'), cb_b * Cb'], C' = C - 128
  float y0, ys, cr_r, cb_g, cr_g, cb_b;
};

// Fills the matrix coefficients: matrix 601 or 709, limited (16-235) or full range.
YuvToRgbParams make_yuv_params(int matrix, bool full_range);

TVF_HD void yuv_pixel_to_rgb(const YuvToRgbParams& p, int sy, int sx, float rgb[3]) {
  const float yv = static_cast<float>(p.y[sy * p.y_pitch + sx]);
  const int64_t c = static_cast<int64_t>(sy >> 1) * p.c_pitch + static_cast<int64_t>(sx >> 1) * p.c_step;
  const float cb = static_cast<float>(p.u[c]) - 128.0f;
  const float cr = static_cast<float>(p.v[c]) - 128.0f;
  const float yy = p.ys * (yv - p.y0);
  rgb[0] = yy + p.cr_r * cr;
  rgb[1] = yy - p.cb_g * cb - p.cr_g * cr;
  rgb[2] = yy + p.cb_b * cb;
}

TVF_HD uint8_t round_to_u8(float x) {
  x = x + 0.5f;
  x = x < 0.0f ? 0.0f : (x > 255.0f ? 255.0f : x);
  return static_cast<uint8_t>(x);
}

// The RGB value of output pixel (oy, ox) (steps 1-3 above), written to o[0..2]; the scan histogram
// (kernels/scan_histogram.cuh) reads it without storing the image.
TVF_HD void yuv_to_rgb_resize_value(const YuvToRgbParams& p, int oy, int ox, uint8_t o[3]) {
  const float scale_y = static_cast<float>(p.in_h) / static_cast<float>(p.out_h);
  const float scale_x = static_cast<float>(p.in_w) / static_cast<float>(p.out_w);
  float fy = (static_cast<float>(oy) + 0.5f) * scale_y - 0.5f;
  float fx = (static_cast<float>(ox) + 0.5f) * scale_x - 0.5f;
  fy = fy < 0.0f ? 0.0f : fy;
  fx = fx < 0.0f ? 0.0f : fx;
  int y0 = static_cast<int>(fy);
  int x0 = static_cast<int>(fx);
  y0 = y0 > p.in_h - 1 ? p.in_h - 1 : y0;
  x0 = x0 > p.in_w - 1 ? p.in_w - 1 : x0;
  const int y1 = y0 + 1 < p.in_h ? y0 + 1 : p.in_h - 1;
  const int x1 = x0 + 1 < p.in_w ? x0 + 1 : p.in_w - 1;
  const float wy = fy - static_cast<float>(y0) > 1.0f ? 1.0f : fy - static_cast<float>(y0);
  const float wx = fx - static_cast<float>(x0) > 1.0f ? 1.0f : fx - static_cast<float>(x0);
  float a[3], b[3], c[3], d[3];
  yuv_pixel_to_rgb(p, y0, x0, a);
  yuv_pixel_to_rgb(p, y0, x1, b);
  yuv_pixel_to_rgb(p, y1, x0, c);
  yuv_pixel_to_rgb(p, y1, x1, d);
  for (int k = 0; k < 3; ++k) {
    const float top = a[k] + (b[k] - a[k]) * wx;
    const float bot = c[k] + (d[k] - c[k]) * wx;
    o[k] = round_to_u8(top + (bot - top) * wy);
  }
}

TVF_HD void yuv_to_rgb_resize_pixel(const YuvToRgbParams& p, int oy, int ox) {
  yuv_to_rgb_resize_value(p, oy, ox, p.out + static_cast<int64_t>(oy) * p.out_pitch + static_cast<int64_t>(ox) * 3);
}

#ifdef TVF_WITH_CUDA
// Launches the CUDA kernel on `stream` (a cudaStream_t as an integer); throws on a launch error.
void yuv_to_rgb_resize_cuda(const YuvToRgbParams& p, intptr_t stream);
#endif

}  // namespace tvf
