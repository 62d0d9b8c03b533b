// Borrowed views of DLPack tensors passed from Python (torch, CuPy, NumPy, PyNvVideoCodec frames).
// Note [Borrowed DLPack tensors]: an op takes `__dlpack__` from each argument, checks dtype/shape/device,
// uses the memory for the duration of the call and calls the producer's deleter when the view dies.
// The Python objects outlive the call, so no copy is made and nothing is retained.
#pragma once
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dlpack_abi.h"

namespace tvf {

enum class Device { CPU, CUDA };

class TensorView {
 public:
  // `name` is used in error messages; `ndim` and `dtype` are required; rows must be compact along the
  // last `compact_dims` dimensions (the ops index them with plain pointer arithmetic).
  TensorView(pybind11::handle obj, const char* name, int ndim, DLDataTypeCode code, int bits,
             int compact_dims, intptr_t stream);
  ~TensorView();
  TensorView(const TensorView&) = delete;
  TensorView& operator=(const TensorView&) = delete;

  int64_t size(int d) const { return shape_[d]; }
  int64_t stride(int d) const { return strides_[d]; }  // in elements
  Device device() const { return device_; }
  int device_id() const { return device_id_; }
  template <typename T>
  T* data() const {
    return reinterpret_cast<T*>(static_cast<char*>(tensor_->dl_tensor.data) + tensor_->dl_tensor.byte_offset);
  }
  std::string describe() const;

 private:
  DLManagedTensor* tensor_ = nullptr;
  std::string name_;
  std::vector<int64_t> shape_, strides_;
  Device device_ = Device::CPU;
  int device_id_ = 0;
};

// Raises ValueError unless every view is on the same device as `first`.
void require_same_device(const TensorView& first, std::initializer_list<const TensorView*> others);

}  // namespace tvf
