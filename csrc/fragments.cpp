// Binding and CPU twin of the DOVER fragment gather (kernels/fragments.cuh).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <string>

#include "fragments.cuh"
#include "ops.h"
#include "tensor_view.h"

namespace py = pybind11;

namespace tvf {

namespace {

std::string dims(int64_t a, int64_t b, int64_t c) {
  return "(" + std::to_string(a) + ", " + std::to_string(b) + ", " + std::to_string(c) + ")";
}

// frames: (N, H, W, 3) uint8, pixels compact (frame and row strides free);
// top, left: (clips, Fh, Fw) int32, compact; out: (clips, 3, L, Fh*P, Fw*P) float32, compact, N = clips*L.
void fragment_gather(py::handle frames, py::handle top, py::handle left, py::handle out,
                     std::array<float, 3> mean, std::array<float, 3> std, int patch, intptr_t stream) {
  TensorView fv(frames, "frames", 4, kDLUInt, 8, 2, stream), tv(top, "top", 3, kDLInt, 32, 3, stream),
      lv(left, "left", 3, kDLInt, 32, 3, stream), ov(out, "out", 5, kDLFloat, 32, 5, stream);
  require_same_device(fv, {&tv, &lv, &ov});
  if (fv.size(3) != 3) throw py::value_error("frames must be (N, H, W, 3), got " + fv.describe());
  if (patch <= 0) throw py::value_error("patch must be positive, got " + std::to_string(patch));
  const int64_t clips = tv.size(0), fh = tv.size(1), fw = tv.size(2);
  if (lv.size(0) != clips || lv.size(1) != fh || lv.size(2) != fw)
    throw py::value_error("left must have top's shape " + dims(clips, fh, fw) + ", got " + lv.describe());
  if (ov.size(0) != clips || ov.size(1) != 3 || ov.size(3) != fh * patch || ov.size(4) != fw * patch)
    throw py::value_error("out must be (clips, 3, L, Fh*patch, Fw*patch) = (" + std::to_string(clips) + ", 3, L, " +
                          std::to_string(fh * patch) + ", " + std::to_string(fw * patch) + "), got " + ov.describe());
  const int64_t length = ov.size(2);
  if (fv.size(0) != clips * length)
    throw py::value_error("frames must hold clips * L = " + std::to_string(clips * length) + " frames, got " +
                          fv.describe());
  for (int ch = 0; ch < 3; ++ch)
    if (!(std[ch] != 0.0f)) throw py::value_error("std must be non-zero");
  FragmentParams p{};
  p.frames = fv.data<uint8_t>();
  p.frame_stride = fv.stride(0);
  p.row_stride = fv.stride(1);
  p.in_h = static_cast<int>(fv.size(1));
  p.in_w = static_cast<int>(fv.size(2));
  p.top = tv.data<int32_t>();
  p.left = lv.data<int32_t>();
  p.clips = static_cast<int>(clips);
  p.length = static_cast<int>(length);
  p.fh = static_cast<int>(fh);
  p.fw = static_cast<int>(fw);
  p.patch = patch;
  p.out = ov.data<float>();
  for (int ch = 0; ch < 3; ++ch) {
    p.mean[ch] = mean[ch];
    p.std[ch] = std[ch];
  }
  if (fv.device() == Device::CPU) {
    // Origins are checked here on the CPU; the CUDA caller checks them before upload (sampling.py).
    for (int64_t k = 0; k < clips * fh * fw; ++k) {
      if (p.top[k] < 0 || p.top[k] + patch > p.in_h || p.left[k] < 0 || p.left[k] + patch > p.in_w)
        throw py::value_error("patch origin (" + std::to_string(p.top[k]) + ", " + std::to_string(p.left[k]) +
                              ") of size " + std::to_string(patch) + " leaves the " + std::to_string(p.in_h) + "x" +
                              std::to_string(p.in_w) + " frame");
    }
    py::gil_scoped_release release;
    const int64_t total = fragment_pixels(p);
    for (int64_t i = 0; i < total; ++i) fragment_gather_pixel(p, i);
    return;
  }
#ifdef TVF_WITH_CUDA
  fragment_gather_cuda(p, stream);
#else
  (void)stream;
  throw py::value_error("this build of talkvid_fast._native has no CUDA kernels; pass CPU tensors");
#endif
}

}  // namespace

void register_fragments(py::module_& m) {
  m.def("fragment_gather", &fragment_gather, py::arg("frames"), py::arg("top"), py::arg("left"), py::arg("out"),
        py::arg("mean") = std::array<float, 3>{0.0f, 0.0f, 0.0f}, py::arg("std") = std::array<float, 3>{1.0f, 1.0f, 1.0f},
        py::arg("patch") = 32, py::arg("stream") = 0,
        "DOVER fragment mosaic: frames (N,H,W,3) uint8, top/left (clips,Fh,Fw) int32 patch origins -> out "
        "(clips,3,L,Fh*patch,Fw*patch) float32, normalised (v-mean)/std; CPU or CUDA tensors.");
}

}  // namespace tvf
