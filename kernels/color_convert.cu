// CUDA twin of csrc/color_convert.cpp: one thread per output pixel.
#include <cuda_runtime.h>

#include "color_convert.cuh"
#include "cuda_check.cuh"

namespace tvf {

__global__ void yuv_to_rgb_resize_kernel(YuvToRgbParams p) {
  const int ox = blockIdx.x * blockDim.x + threadIdx.x;
  const int oy = blockIdx.y * blockDim.y + threadIdx.y;
  if (ox < p.out_w && oy < p.out_h) yuv_to_rgb_resize_pixel(p, oy, ox);
}

void yuv_to_rgb_resize_cuda(const YuvToRgbParams& p, intptr_t stream) {
  const dim3 block(32, 8);
  const dim3 grid((p.out_w + block.x - 1) / block.x, (p.out_h + block.y - 1) / block.y);
  yuv_to_rgb_resize_kernel<<<grid, block, 0, reinterpret_cast<cudaStream_t>(stream)>>>(p);
  TVF_CUDA_CHECK(cudaGetLastError());
}

}  // namespace tvf
