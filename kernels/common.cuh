// Shared between the C++ CPU twins (csrc/) and the CUDA kernels (kernels/): one definition of the
// per-pixel math, compiled for host and device, so the twins cannot drift apart.
#pragma once
#ifdef __CUDACC__
#define TVF_HD __host__ __device__ __forceinline__
#else
#define TVF_HD inline
#endif
