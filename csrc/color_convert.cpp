// Binding and CPU twin of the YUV 4:2:0 -> RGB + resize op (kernels/color_convert.cuh).
#include <pybind11/pybind11.h>

#include <stdexcept>

#include "color_convert.cuh"
#include "nv12_params.h"
#include "ops.h"
#include "tensor_view.h"

namespace py = pybind11;

namespace tvf {

YuvToRgbParams make_yuv_params(int matrix, bool full_range) {
  float kr, kb;
  if (matrix == 601) {
    kr = 0.299f;
    kb = 0.114f;
  } else if (matrix == 709) {
    kr = 0.2126f;
    kb = 0.0722f;
  } else {
    throw py::value_error("matrix must be 601 or 709, got " + std::to_string(matrix));
  }
  const float kg = 1.0f - kr - kb;
  const float cs = full_range ? 1.0f : 255.0f / 224.0f;
  YuvToRgbParams p{};
  p.y0 = full_range ? 0.0f : 16.0f;
  p.ys = full_range ? 1.0f : 255.0f / 219.0f;
  p.cr_r = 2.0f * (1.0f - kr) * cs;
  p.cb_b = 2.0f * (1.0f - kb) * cs;
  p.cb_g = 2.0f * kb * (1.0f - kb) / kg * cs;
  p.cr_g = 2.0f * kr * (1.0f - kr) / kg * cs;
  return p;
}

YuvToRgbParams nv12_params(const TensorView& y, const TensorView& uv, int matrix, bool full_range) {
  YuvToRgbParams p = make_yuv_params(matrix, full_range);
  p.y = y.data<uint8_t>();
  p.u = uv.data<uint8_t>();
  p.v = uv.data<uint8_t>() + 1;
  p.y_pitch = y.stride(0);
  p.c_pitch = uv.stride(0);
  p.c_step = 2;
  p.in_h = static_cast<int>(y.size(0));
  p.in_w = static_cast<int>(y.size(1));
  return p;
}

namespace {

void run(YuvToRgbParams& p, const TensorView& out, intptr_t stream) {
  if (p.out_h <= 0 || p.out_w <= 0 || p.in_h <= 0 || p.in_w <= 0) throw py::value_error("empty image");
  if (out.device() == Device::CPU) {
    py::gil_scoped_release release;
    for (int oy = 0; oy < p.out_h; ++oy)
      for (int ox = 0; ox < p.out_w; ++ox) yuv_to_rgb_resize_pixel(p, oy, ox);
    return;
  }
#ifdef TVF_WITH_CUDA
  yuv_to_rgb_resize_cuda(p, stream);
#else
  (void)stream;
  throw py::value_error("this build of talkvid_fast._native has no CUDA kernels; pass CPU tensors");
#endif
}

void check_chroma(const TensorView& y, const TensorView& c, int chroma_dims) {
  const int64_t ch = (y.size(0) + 1) / 2, cw = (y.size(1) + 1) / 2;
  if (c.size(0) != ch || c.size(1) != cw || (chroma_dims == 3 && c.size(2) != 2)) {
    throw py::value_error("chroma plane must be (ceil(H/2), ceil(W/2)" + std::string(chroma_dims == 3 ? ", 2)" : ")") +
                          " for luma (" + std::to_string(y.size(0)) + ", " + std::to_string(y.size(1)) +
                          "), got " + c.describe());
  }
}

void check_out(const TensorView& out) {
  if (out.size(2) != 3) throw py::value_error("out must be (out_h, out_w, 3), got " + out.describe());
}

// y: (H, W) uint8; uv: (ceil(H/2), ceil(W/2), 2) uint8 interleaved Cb,Cr; out: (out_h, out_w, 3) uint8.
void nv12_to_rgb(py::handle y, py::handle uv, py::handle out, int matrix, bool full_range, intptr_t stream) {
  TensorView yv(y, "y", 2, kDLUInt, 8, 1, stream), cv(uv, "uv", 3, kDLUInt, 8, 2, stream),
      ov(out, "out", 3, kDLUInt, 8, 2, stream);
  require_same_device(yv, {&cv, &ov});
  check_chroma(yv, cv, 3);
  check_out(ov);
  YuvToRgbParams p = nv12_params(yv, cv, matrix, full_range);
  p.out = ov.data<uint8_t>();
  p.out_pitch = ov.stride(0);
  p.out_h = static_cast<int>(ov.size(0));
  p.out_w = static_cast<int>(ov.size(1));
  run(p, ov, stream);
}

// y: (H, W); u, v: (ceil(H/2), ceil(W/2)); out: (out_h, out_w, 3); all uint8.
void i420_to_rgb(py::handle y, py::handle u, py::handle v, py::handle out, int matrix, bool full_range,
                 intptr_t stream) {
  TensorView yv(y, "y", 2, kDLUInt, 8, 1, stream), uv(u, "u", 2, kDLUInt, 8, 1, stream),
      vv(v, "v", 2, kDLUInt, 8, 1, stream), ov(out, "out", 3, kDLUInt, 8, 2, stream);
  require_same_device(yv, {&uv, &vv, &ov});
  check_chroma(yv, uv, 2);
  check_chroma(yv, vv, 2);
  if (uv.stride(0) != vv.stride(0)) throw py::value_error("u and v planes must have the same row stride");
  check_out(ov);
  YuvToRgbParams p = make_yuv_params(matrix, full_range);
  p.y = yv.data<uint8_t>();
  p.u = uv.data<uint8_t>();
  p.v = vv.data<uint8_t>();
  p.y_pitch = yv.stride(0);
  p.c_pitch = uv.stride(0);
  p.c_step = 1;
  p.in_h = static_cast<int>(yv.size(0));
  p.in_w = static_cast<int>(yv.size(1));
  p.out = ov.data<uint8_t>();
  p.out_pitch = ov.stride(0);
  p.out_h = static_cast<int>(ov.size(0));
  p.out_w = static_cast<int>(ov.size(1));
  run(p, ov, stream);
}

}  // namespace

void register_color_convert(py::module_& m) {
  m.def("nv12_to_rgb", &nv12_to_rgb, py::arg("y"), py::arg("uv"), py::arg("out"), py::arg("matrix") = 709,
        py::arg("full_range") = false, py::arg("stream") = 0,
        "NV12 -> RGB uint8 with bilinear resize into `out` (out_h, out_w, 3); CPU or CUDA tensors.");
  m.def("i420_to_rgb", &i420_to_rgb, py::arg("y"), py::arg("u"), py::arg("v"), py::arg("out"),
        py::arg("matrix") = 709, py::arg("full_range") = false, py::arg("stream") = 0,
        "I420 (planar YUV 4:2:0) -> RGB uint8 with bilinear resize into `out`; CPU or CUDA tensors.");
}

}  // namespace tvf
