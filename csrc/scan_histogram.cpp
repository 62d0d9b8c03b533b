// Binding and CPU twin of the stage-1 scan histogram (kernels/scan_histogram.cuh).
#include <pybind11/pybind11.h>

#include <cstring>
#include <string>

#include "nv12_params.h"
#include "ops.h"
#include "scan_histogram.cuh"
#include "tensor_view.h"

namespace py = pybind11;

namespace tvf {

namespace {

// y: (H, W) uint8; uv: (ceil(H/2), ceil(W/2), 2) uint8 interleaved Cb,Cr (an NV12 surface's planes);
// counts: (N, 256) int32, row `slot` is overwritten with the luma histogram of the frame downscaled to
// (out_h, out_w). CUDA tensors: enqueued on `stream`, no synchronisation; CPU tensors: computed here.
void nv12_scan_histogram(py::handle y, py::handle uv, py::handle counts, int64_t slot, int out_h, int out_w,
                         int matrix, bool full_range, intptr_t stream) {
  TensorView yv(y, "y", 2, kDLUInt, 8, 1, stream), cv(uv, "uv", 3, kDLUInt, 8, 2, stream),
      hv(counts, "counts", 2, kDLInt, 32, 1, stream);
  require_same_device(yv, {&cv, &hv});
  const int64_t ch = (yv.size(0) + 1) / 2, cw = (yv.size(1) + 1) / 2;
  if (cv.size(0) != ch || cv.size(1) != cw || cv.size(2) != 2) {
    throw py::value_error("uv must be (ceil(H/2), ceil(W/2), 2) for luma (" + std::to_string(yv.size(0)) + ", " +
                          std::to_string(yv.size(1)) + "), got " + cv.describe());
  }
  if (hv.size(1) != kScanBins) throw py::value_error("counts must be (N, 256), got " + hv.describe());
  if (slot < 0 || slot >= hv.size(0)) {
    throw py::value_error("slot " + std::to_string(slot) + " outside counts' " + std::to_string(hv.size(0)) + " rows");
  }
  if (out_h <= 0 || out_w <= 0 || yv.size(0) <= 0 || yv.size(1) <= 0) throw py::value_error("empty image");
  YuvToRgbParams p = nv12_params(yv, cv, matrix, full_range);
  p.out = nullptr;  // the small frame is never stored
  p.out_h = out_h;
  p.out_w = out_w;
  int32_t* row = hv.data<int32_t>() + slot * hv.stride(0);
  if (hv.device() == Device::CPU) {
    py::gil_scoped_release release;
    std::memset(row, 0, kScanBins * sizeof(int32_t));
    for (int oy = 0; oy < out_h; ++oy)
      for (int ox = 0; ox < out_w; ++ox) ++row[scan_luma(p, oy, ox)];
    return;
  }
#ifdef TVF_WITH_CUDA
  scan_histogram_cuda(p, row, stream);
#else
  (void)stream;
  throw py::value_error("this build of talkvid_fast._native has no CUDA kernels; pass CPU tensors");
#endif
}

}  // namespace

void register_scan_histogram(py::module_& m) {
  m.def("nv12_scan_histogram", &nv12_scan_histogram, py::arg("y"), py::arg("uv"), py::arg("counts"),
        py::arg("slot"), py::arg("out_h"), py::arg("out_w"), py::arg("matrix") = 601,
        py::arg("full_range") = false, py::arg("stream") = 0,
        "Stage 1's luma histogram (scenedetect HistogramDetector) of an NV12 frame downscaled to (out_h, out_w), "
        "written to counts[slot] (int32 (N, 256)); CPU or CUDA tensors, no synchronisation on CUDA.");
}

}  // namespace tvf
