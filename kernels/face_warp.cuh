// Affine warp of face/detector crops (Note [Face warp], talkvid_fast/head/crop.py), per output pixel.
// Reference: talkvid_fast/head/crop.py::warp_reference (NumPy). For output pixel (ox, oy) of crop m:
//   (sx, sy) = A_m @ (ox, oy, 1)   (pixel-index coordinates, centres at integers)
//   value = bilinear sample of image index[m] at (sx, sy); border 0: outside neighbours read 0,
//           border 1: neighbour indices clamped (replicate)
//   out = value * scale + offset   (float32)
#pragma once
#include <cmath>
#include <cstdint>

#include "common.cuh"

namespace tvf {

struct FaceWarpParams {
  const uint8_t* images;  // (N, H, W, 3) uint8, contiguous
  const int64_t* index;   // (M,) source image of each crop
  const float* mats;      // (M, 2, 3) output pixel -> source pixel
  float* out;             // (M, out_h, out_w, 3) float32, contiguous
  int n, h, w, m, out_h, out_w;
  float scale, offset;
  int border;  // 0 zero, 1 replicate
};

TVF_HD void face_warp_pixel(const FaceWarpParams& p, int crop, int oy, int ox) {
  const float* a = p.mats + crop * 6;
  const float fxo = static_cast<float>(ox), fyo = static_cast<float>(oy);
  const float sx = a[0] * fxo + a[1] * fyo + a[2];
  const float sy = a[3] * fxo + a[4] * fyo + a[5];
  const float x0 = floorf(sx), y0 = floorf(sy);
  const float fx = sx - x0, fy = sy - y0;
  const int ix = static_cast<int>(x0), iy = static_cast<int>(y0);
  const uint8_t* img = p.images + p.index[crop] * static_cast<int64_t>(p.h) * p.w * 3;
  float acc[3] = {0.0f, 0.0f, 0.0f};
  for (int dy = 0; dy < 2; ++dy) {
    for (int dx = 0; dx < 2; ++dx) {
      const float wgt = (dy ? fy : 1.0f - fy) * (dx ? fx : 1.0f - fx);
      int xi = ix + dx, yi = iy + dy;
      const bool inside = xi >= 0 && xi < p.w && yi >= 0 && yi < p.h;
      if (!inside && p.border == 0) continue;
      xi = xi < 0 ? 0 : (xi >= p.w ? p.w - 1 : xi);
      yi = yi < 0 ? 0 : (yi >= p.h ? p.h - 1 : yi);
      const uint8_t* px = img + (static_cast<int64_t>(yi) * p.w + xi) * 3;
      for (int c = 0; c < 3; ++c) acc[c] += wgt * static_cast<float>(px[c]);
    }
  }
  float* o = p.out + ((static_cast<int64_t>(crop) * p.out_h + oy) * p.out_w + ox) * 3;
  for (int c = 0; c < 3; ++c) o[c] = acc[c] * p.scale + p.offset;
}

#ifdef TVF_WITH_CUDA
void face_warp_cuda(const FaceWarpParams& p, intptr_t stream);
#endif

}  // namespace tvf
