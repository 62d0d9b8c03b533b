// Stage 1's per-frame feature on the decoder's device: scenedetect 0.6.4 HistogramDetector's luma histogram
// of the downscaled frame, from an NV12 surface, without storing the small image.
// Reference: talkvid_fast/reference/scan_histogram.py (NumPy). Semantics, shared by every twin:
//   1. the small frame's RGB pixel: kernels/color_convert.cuh (chroma nearest, bilinear half-pixel resize
//      to (out_h, out_w) = scenedetect's width // 256 downscale, round to nearest);
//   2. its luma as cv2.cvtColor(BGR2YUV) computes it for 8-bit images: (4899 R + 9617 G + 1868 B + 8192) >> 14;
//   3. counted into 256 bins (cv2.calcHist, [0, 256)). The L2 normalisation of cv2.normalize is done by
//      the caller on the 256 counts (talkvid_fast/segment/_device_scan.py).
#pragma once
#include <cstdint>

#include "color_convert.cuh"
#include "common.cuh"

namespace tvf {

constexpr int kScanBins = 256;

TVF_HD int bgr_to_luma_u8(const uint8_t rgb[3]) {
  // cv2's RGB2YUV fixed point for CV_8U: yuv_shift = 14, R2Y = 4899, G2Y = 9617, B2Y = 1868, rounded
  return (4899 * rgb[0] + 9617 * rgb[1] + 1868 * rgb[2] + (1 << 13)) >> 14;
}

TVF_HD int scan_luma(const YuvToRgbParams& p, int oy, int ox) {
  uint8_t rgb[3];
  yuv_to_rgb_resize_value(p, oy, ox, rgb);
  return bgr_to_luma_u8(rgb);
}

#ifdef TVF_WITH_CUDA
// Overwrites counts[0..255] (int32, device) with the luma histogram of the (p.out_h, p.out_w) small frame;
// everything is enqueued on `stream`, nothing synchronises.
void scan_histogram_cuda(const YuvToRgbParams& p, int32_t* counts, intptr_t stream);
#endif

}  // namespace tvf
