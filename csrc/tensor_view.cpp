#include "tensor_view.h"

#include <sstream>
#include <stdexcept>

namespace py = pybind11;

namespace tvf {

TensorView::TensorView(py::handle obj, const char* name, int ndim, DLDataTypeCode code, int bits,
                       int compact_dims, intptr_t stream)
    : name_(name) {
  if (!py::hasattr(obj, "__dlpack__")) {
    throw py::type_error(std::string(name) + ": expected a tensor with __dlpack__ (torch, CuPy, NumPy >= 1.22), got " +
                         std::string(py::str(py::type::of(obj))));
  }
  py::object capsule;
  // Producers on CUDA order their work before ours when told our stream; CPU producers take no stream.
  py::tuple dev = obj.attr("__dlpack_device__")();
  const int dev_type = dev[0].cast<int>();
  if (dev_type == kDLCUDA) {
    capsule = obj.attr("__dlpack__")(py::arg("stream") = stream == 0 ? py::object(py::int_(1)) : py::int_(stream));
  } else {
    capsule = obj.attr("__dlpack__")();
  }
  auto* raw = PyCapsule_GetPointer(capsule.ptr(), "dltensor");
  if (raw == nullptr) {
    throw py::value_error(std::string(name) + ": __dlpack__ did not return a 'dltensor' capsule");
  }
  tensor_ = static_cast<DLManagedTensor*>(raw);
  PyCapsule_SetName(capsule.ptr(), "used_dltensor");  // we own it now; we call the deleter

  const DLTensor& t = tensor_->dl_tensor;
  device_id_ = t.device.device_id;
  if (t.device.device_type == kDLCPU || t.device.device_type == kDLCUDAHost) {
    device_ = Device::CPU;
  } else if (t.device.device_type == kDLCUDA || t.device.device_type == kDLCUDAManaged) {
    device_ = Device::CUDA;
  } else {
    throw py::value_error(std::string(name) + ": unsupported device type " + std::to_string(t.device.device_type) +
                          " (allowed: CPU, CUDA)");
  }
  if (t.dtype.code != code || t.dtype.bits != bits || t.dtype.lanes != 1) {
    throw py::value_error(std::string(name) + ": wrong dtype (code " + std::to_string(t.dtype.code) + ", " +
                          std::to_string(t.dtype.bits) + " bits); expected code " + std::to_string(code) + ", " +
                          std::to_string(bits) + " bits");
  }
  if (t.ndim != ndim) {
    throw py::value_error(std::string(name) + ": expected " + std::to_string(ndim) + " dimensions, got " +
                          std::to_string(t.ndim));
  }
  shape_.assign(t.shape, t.shape + t.ndim);
  strides_.resize(t.ndim);
  int64_t expect = 1;
  for (int d = t.ndim - 1; d >= 0; --d) {
    strides_[d] = t.strides ? t.strides[d] : expect;
    expect *= shape_[d];
  }
  int64_t compact = 1;
  for (int d = t.ndim - 1; d >= t.ndim - compact_dims; --d) {
    if (shape_[d] > 1 && strides_[d] != compact) {
      throw py::value_error(std::string(name) + ": the last " + std::to_string(compact_dims) +
                            " dimensions must be contiguous; call .contiguous() first (" + describe() + ")");
    }
    compact *= shape_[d];
  }
}

TensorView::~TensorView() {
  if (tensor_ != nullptr && tensor_->deleter != nullptr) tensor_->deleter(tensor_);
}

std::string TensorView::describe() const {
  std::ostringstream os;
  os << name_ << " shape (";
  for (size_t i = 0; i < shape_.size(); ++i) os << (i ? ", " : "") << shape_[i];
  os << ") on " << (device_ == Device::CPU ? "cpu" : "cuda:" + std::to_string(device_id_));
  return os.str();
}

void require_same_device(const TensorView& first, std::initializer_list<const TensorView*> others) {
  for (const TensorView* v : others) {
    if (v->device() != first.device() || (v->device() == Device::CUDA && v->device_id() != first.device_id())) {
      throw py::value_error("all tensors must be on one device: " + first.describe() + " vs " + v->describe());
    }
  }
}

}  // namespace tvf
