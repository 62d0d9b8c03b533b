// CUDA twin of csrc/face_warp.cpp: one thread per output pixel, blockIdx.z = crop.
#include <cuda_runtime.h>

#include "cuda_check.cuh"
#include "face_warp.cuh"

namespace tvf {

__global__ void face_warp_kernel(FaceWarpParams p) {
  const int ox = blockIdx.x * blockDim.x + threadIdx.x;
  const int oy = blockIdx.y * blockDim.y + threadIdx.y;
  if (ox < p.out_w && oy < p.out_h) face_warp_pixel(p, blockIdx.z, oy, ox);
}

void face_warp_cuda(const FaceWarpParams& p, intptr_t stream) {
  if (p.m == 0) return;
  const dim3 block(32, 8);
  const dim3 grid((p.out_w + block.x - 1) / block.x, (p.out_h + block.y - 1) / block.y, p.m);
  face_warp_kernel<<<grid, block, 0, reinterpret_cast<cudaStream_t>(stream)>>>(p);
  TVF_CUDA_CHECK(cudaGetLastError());
}

}  // namespace tvf
