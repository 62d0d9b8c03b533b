// Binding and CPU twin of the face-crop affine warp (kernels/face_warp.cuh).
#include <pybind11/pybind11.h>

#include "face_warp.cuh"
#include "ops.h"
#include "tensor_view.h"

namespace py = pybind11;

namespace tvf {
namespace {

// images: (N, H, W, 3) uint8; index: (M,) int64; mats: (M, 2, 3) float32; out: (M, out_h, out_w, 3) float32.
void face_warp(py::handle images, py::handle index, py::handle mats, py::handle out, float scale, float offset,
               int border, intptr_t stream) {
  TensorView iv(images, "images", 4, kDLUInt, 8, 4, stream), xv(index, "index", 1, kDLInt, 64, 1, stream),
      mv(mats, "mats", 3, kDLFloat, 32, 3, stream), ov(out, "out", 4, kDLFloat, 32, 4, stream);
  require_same_device(iv, {&xv, &mv, &ov});
  if (iv.size(3) != 3 || ov.size(3) != 3) throw py::value_error("images and out must have 3 channels last");
  if (mv.size(1) != 2 || mv.size(2) != 3) throw py::value_error("mats must be (M, 2, 3), got " + mv.describe());
  if (xv.size(0) != mv.size(0) || ov.size(0) != mv.size(0)) {
    throw py::value_error("index, mats and out must have the same number of crops M");
  }
  if (border != 0 && border != 1) throw py::value_error("border must be 0 (zero) or 1 (replicate)");
  FaceWarpParams p{iv.data<uint8_t>(), xv.data<int64_t>(), mv.data<float>(), ov.data<float>(),
                   static_cast<int>(iv.size(0)), static_cast<int>(iv.size(1)), static_cast<int>(iv.size(2)),
                   static_cast<int>(mv.size(0)), static_cast<int>(ov.size(1)), static_cast<int>(ov.size(2)),
                   scale, offset, border};
  if (iv.device() == Device::CPU) {
    for (int m = 0; m < p.m; ++m) {
      if (p.index[m] < 0 || p.index[m] >= p.n) throw py::value_error("index out of range of images");
    }
    py::gil_scoped_release release;
    for (int m = 0; m < p.m; ++m)
      for (int oy = 0; oy < p.out_h; ++oy)
        for (int ox = 0; ox < p.out_w; ++ox) face_warp_pixel(p, m, oy, ox);
    return;
  }
#ifdef TVF_WITH_CUDA
  face_warp_cuda(p, stream);
#else
  (void)stream;
  throw py::value_error("this build of talkvid_fast._native has no CUDA kernels; pass CPU tensors");
#endif
}

}  // namespace

void register_face_warp(py::module_& m) {
  m.def("face_warp", &face_warp, py::arg("images"), py::arg("index"), py::arg("mats"), py::arg("out"),
        py::arg("scale"), py::arg("offset"), py::arg("border"), py::arg("stream") = 0,
        "Affine warp of crops out of frames into float32 `out` (Note [Face warp]); CPU or CUDA tensors.");
}

}  // namespace tvf
