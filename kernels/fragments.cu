// CUDA twin of csrc/fragments.cpp: one thread per output pixel (3 channels each).
#include <cuda_runtime.h>

#include "cuda_check.cuh"
#include "fragments.cuh"

namespace tvf {

__global__ void fragment_gather_kernel(FragmentParams p, int64_t total) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx < total) fragment_gather_pixel(p, idx);
}

void fragment_gather_cuda(const FragmentParams& p, intptr_t stream) {
  const int64_t total = fragment_pixels(p);
  if (total == 0) return;
  const int block = 256;
  const int64_t grid = (total + block - 1) / block;
  fragment_gather_kernel<<<static_cast<unsigned int>(grid), block, 0, reinterpret_cast<cudaStream_t>(stream)>>>(p, total);
  TVF_CUDA_CHECK(cudaGetLastError());
}

}  // namespace tvf
