// Every CUDA call and launch is checked; a failure becomes a C++ exception (RuntimeError in Python).
#pragma once
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#define TVF_CUDA_CHECK(expr)                                                                          \
  do {                                                                                               \
    cudaError_t tvf_err_ = (expr);                                                                   \
    if (tvf_err_ != cudaSuccess) {                                                                   \
      throw std::runtime_error(std::string("CUDA error in ") + #expr + ": " + cudaGetErrorString(tvf_err_)); \
    }                                                                                                \
  } while (0)
