// CUDA twin of csrc/scan_histogram.cpp: one thread per small-frame pixel, a shared-memory histogram per
// block, one atomicAdd per bin and block into the frame's row.
#include <cuda_runtime.h>

#include "cuda_check.cuh"
#include "scan_histogram.cuh"

namespace tvf {

__global__ void scan_histogram_kernel(YuvToRgbParams p, int32_t* counts) {
  __shared__ int32_t local[kScanBins];
  const int tid = threadIdx.y * blockDim.x + threadIdx.x;
  for (int b = tid; b < kScanBins; b += blockDim.x * blockDim.y) local[b] = 0;
  __syncthreads();
  const int ox = blockIdx.x * blockDim.x + threadIdx.x;
  const int oy = blockIdx.y * blockDim.y + threadIdx.y;
  if (ox < p.out_w && oy < p.out_h) atomicAdd(&local[scan_luma(p, oy, ox)], 1);
  __syncthreads();
  for (int b = tid; b < kScanBins; b += blockDim.x * blockDim.y) {
    if (local[b]) atomicAdd(&counts[b], local[b]);
  }
}

void scan_histogram_cuda(const YuvToRgbParams& p, int32_t* counts, intptr_t stream) {
  auto s = reinterpret_cast<cudaStream_t>(stream);
  TVF_CUDA_CHECK(cudaMemsetAsync(counts, 0, kScanBins * sizeof(int32_t), s));
  const dim3 block(32, 8);
  const dim3 grid((p.out_w + block.x - 1) / block.x, (p.out_h + block.y - 1) / block.y);
  scan_histogram_kernel<<<grid, block, 0, s>>>(p, counts);
  TVF_CUDA_CHECK(cudaGetLastError());
}

}  // namespace tvf
