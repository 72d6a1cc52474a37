//===- Module.cpp - the _llmc Python extension over the driver library ----===//
//
// A thin binding: numpy arrays in and out, llvm::Error turned into
// llmc.Error with the same one-line message the tools print.
//
//===----------------------------------------------------------------------===//
#include "llmc/Driver/Driver.h"
#include "llmc/Driver/RunMain.h"

#include "llvm/Support/FormatVariadic.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>

namespace py = pybind11;
using namespace llmc;

namespace {
py::object errorType;

[[noreturn]] void raise(llvm::Error error) {
  std::string message = llvm::toString(std::move(error));
  PyErr_SetString(errorType.ptr(), message.c_str());
  throw py::error_already_set();
}

template <typename T> T unwrap(llvm::Expected<T> value) {
  if (!value)
    raise(value.takeError());
  return std::move(*value);
}

Tensor fromNumpy(const std::string &name, py::handle object) {
  py::array array = py::array::ensure(object, py::array::c_style);
  if (!array)
    raise(llvm::createStringError("input '" + name + "' is not an array"));
  std::optional<DType> dtype;
  py::dtype kind = array.dtype();
  for (DType candidate :
       {DType::f32, DType::f64, DType::f16, DType::i64, DType::i32, DType::i16,
        DType::u16, DType::i8, DType::u8, DType::i1})
    if (kind.is(py::dtype(dtypeNpyDescr(candidate).str())))
      dtype = candidate;
  if (!dtype)
    raise(llvm::createStringError(
        "input '" + name + "' has unsupported dtype " +
        py::str(kind).cast<std::string>()));
  std::vector<int64_t> shape(array.shape(), array.shape() + array.ndim());
  Tensor tensor(name, *dtype, shape);
  std::memcpy(tensor.mutableData(), array.data(), tensor.byteSize());
  return tensor;
}

py::array toNumpy(const Tensor &tensor) {
  // numpy has no bf16: its exact f32 widening.
  if (tensor.dtype == DType::bf16)
    return toNumpy(widenBF16(tensor));
  std::string format = dtypeNpyDescr(tensor.dtype).str();
  if (format.empty())
    raise(llvm::createStringError("output '" + tensor.name + "' has dtype " +
                                  dtypeName(tensor.dtype) +
                                  ", which numpy cannot hold"));
  py::array array(py::dtype(format), tensor.shape);
  std::memcpy(array.mutable_data(), tensor.data(), tensor.byteSize());
  return array;
}

std::vector<Tensor> tensorsFromDict(const py::dict &inputs) {
  std::vector<Tensor> tensors;
  for (auto [key, value] : inputs)
    tensors.push_back(fromNumpy(key.cast<std::string>(), value));
  return tensors;
}

/// Runs `model` without the GIL; its outputs by name.
py::dict runModel(CompiledModel &model, std::vector<Tensor> inputs) {
  std::vector<Tensor> outputs;
  {
    py::gil_scoped_release release;
    auto result = model.run(std::move(inputs));
    if (!result) {
      py::gil_scoped_acquire acquire;
      raise(result.takeError());
    }
    outputs = std::move(*result);
  }
  py::dict result;
  for (const Tensor &output : outputs)
    result[py::str(output.name)] = toNumpy(output);
  return result;
}

py::object jsonToPython(const llvm::json::Value &value) {
  py::module_ json = py::module_::import("json");
  return json.attr("loads")(llvm::formatv("{0}", value).str());
}

/// Runs `compile` (a compile*ForTargets call) without the GIL; its models.
std::vector<std::unique_ptr<CompiledModel>> collectModels(
    llvm::function_ref<llvm::Error(CompiledModel::TargetConsumer)> compile) {
  std::vector<std::unique_ptr<CompiledModel>> models;
  llvm::Error error = [&] {
    py::gil_scoped_release release;
    return compile([&](std::unique_ptr<CompiledModel> model) {
      models.push_back(std::move(model));
      return llvm::Error::success();
    });
  }();
  if (error)
    raise(std::move(error));
  return models;
}

CompileOptions makeOptions(const std::optional<std::string> &quant,
                           const std::optional<py::dict> &shapes,
                           const std::vector<std::string> &targetDescs,
                           const std::optional<py::dict> &quantOptions,
                           const std::optional<py::dict> &values) {
  CompileOptions options;
  options.targetDescs = targetDescs;
  options.quant = quant.value_or("none");
  if (quantOptions)
    for (auto [key, value] : *quantOptions) {
      auto name = key.cast<std::string>();
      QuantizationOptions &q = options.quantization;
      if (name == "activations")
        q.activations = value.cast<std::string>();
      else if (name == "calibration")
        q.calibration = value.cast<std::string>();
      else if (name == "percentile")
        q.percentile = value.cast<double>();
      else if (name == "smoothquant")
        q.smoothQuant = value.cast<double>();
      else if (name == "group_size")
        q.groupSize = value.cast<int64_t>();
      else if (name == "weights")
        q.weights = value.cast<std::string>();
      else if (name == "gptq_act_order")
        q.gptqActOrder = value.cast<bool>();
      else if (name == "calib")
        q.calibrationFile = value.cast<std::string>();
      else
        raise(llvm::make_error<InputError>(
            "unknown quantization option '" + name +
            "' (expected activations, calibration, percentile, smoothquant, "
            "group_size, weights, gptq_act_order or calib)"));
    }
  if (shapes)
    for (auto [key, value] : *shapes) {
      auto name = key.cast<std::string>();
      llvm::SmallVector<int64_t> dims;
      for (py::handle dim : value)
        dims.push_back(dim.cast<int64_t>());
      options.import.inputShapes[name] = dims;
    }
  if (values)
    for (auto [key, value] : *values) {
      llvm::SmallVector<double> numbers;
      for (py::handle number : value)
        numbers.push_back(number.cast<double>());
      options.import.fixedValues[key.cast<std::string>()] = numbers;
    }
  return options;
}
} // namespace

PYBIND11_MODULE(_llmc, m) {
  m.doc() = "llmc: compile ONNX transformer models and run them";
  errorType = py::reinterpret_borrow<py::object>(
      PyErr_NewException("llmc.Error", PyExc_ValueError, nullptr));
  m.attr("Error") = errorType;

  py::class_<CompiledModel, std::unique_ptr<CompiledModel>>(m, "CompiledModel")
      .def(
          "run",
          [](CompiledModel &model, const py::dict &inputs, bool emulateGPU) {
            if (emulateGPU && model.target() != "ptx")
              throw py::value_error("emulate_gpu runs the ptx target's "
                                    "kernels; this model is for '" +
                                    model.target().str() + "'");
            model.setEmulateGPU(emulateGPU);
            return runModel(model, tensorsFromDict(inputs));
          },
          py::arg("inputs"), py::arg("emulate_gpu") = false,
          "Runs the model on a dict of numpy arrays. emulate_gpu (ptx only): "
          "run the kernels on the CPU's GPU emulator instead of a GPU.")
      .def(
          "report",
          [](const CompiledModel &model) {
            return jsonToPython(llvm::json::Value(model.report()));
          },
          "Static cost figures per target, as llm-compile --report writes.")
      .def(
          "stats",
          [](const CompiledModel &model) -> py::object {
            if (std::optional<llvm::json::Object> stats = model.runStats())
              return jsonToPython(llvm::json::Value(std::move(*stats)));
            return py::none();
          },
          "Statistics of the last run beyond its outputs (npu: the simulated "
          "kernels' cycles, utilization, energy, per-layer rows; ptx on the "
          "GPU emulator: its counters), or None.")
      .def(
          "save",
          [](const CompiledModel &model, const std::string &directory) {
            if (llvm::Error error = model.save(directory))
              raise(std::move(error));
          },
          py::arg("directory"), "Writes the artifact folder llm-run runs.")
      .def(
          "mlir",
          [](const CompiledModel &model, const std::string &stage) {
            return model.mlir(stage);
          },
          py::arg("stage") = "lowered",
          "The IR after a stage: import, graph or lowered.")
      .def_property_readonly(
          "signature",
          [](const CompiledModel &model) {
            return jsonToPython(model.signature().toJSON());
          })
      .def_property_readonly("target", [](const CompiledModel &model) {
        return model.target().str();
      });

  m.def(
      "_targets_for_all",
      [](std::optional<std::string> quant) {
        return llmc::targetsForAll(quant.value_or("none"));
      },
      py::arg("quant"));
  // One import (and, with a quant, one calibration) for one or several
  // targets: the models, in the order of `targets`.
  m.def(
      "_compile_file_targets",
      [](const std::string &path, const std::vector<std::string> &targets,
         std::optional<std::string> quant, std::optional<py::dict> shapes,
         const std::vector<std::string> &targetDescs,
         std::optional<py::dict> quantOptions, std::optional<py::dict> values) {
        CompileOptions options =
            makeOptions(quant, shapes, targetDescs, quantOptions, values);
        return collectModels([&](CompiledModel::TargetConsumer consume) {
          return CompiledModel::compileFileForTargets(path, options, targets,
                                                      consume);
        });
      },
      py::arg("path"), py::arg("targets"), py::arg("quant"), py::arg("shapes"),
      py::arg("target_descs"), py::arg("quant_options") = py::none(),
      py::arg("values") = py::none());
  m.def(
      "_compile_bytes_targets",
      [](const py::bytes &bytes, const std::string &name,
         const std::vector<std::string> &targets,
         std::optional<std::string> quant, std::optional<py::dict> shapes,
         const std::vector<std::string> &targetDescs,
         std::optional<py::dict> quantOptions, std::optional<py::dict> values) {
        CompileOptions options =
            makeOptions(quant, shapes, targetDescs, quantOptions, values);
        std::string data = bytes;
        return collectModels([&](CompiledModel::TargetConsumer consume) {
          return CompiledModel::compileBytesForTargets(data, name, options,
                                                       targets, consume);
        });
      },
      py::arg("data"), py::arg("name"), py::arg("targets"), py::arg("quant"),
      py::arg("shapes"), py::arg("target_descs"),
      py::arg("quant_options") = py::none(), py::arg("values") = py::none());
  // llm-run MODEL --input ...: compiled for these inputs (their shapes and
  // small values, specializeToInputs) and run once.
  m.def(
      "_run_once",
      [](py::object model, const std::string &name, const py::dict &inputs,
         const std::string &target, std::optional<std::string> quant,
         const std::vector<std::string> &targetDescs,
         std::optional<py::dict> quantOptions, bool emulateGPU) {
        if (llvm::Error error = checkTarget(target))
          raise(std::move(error));
        if (emulateGPU && target != "ptx")
          throw py::value_error("emulate_gpu runs the ptx target's kernels; "
                                "it needs target='ptx', not '" +
                                target + "'");
        CompileOptions options = makeOptions(quant, std::nullopt, targetDescs,
                                             quantOptions, std::nullopt);
        options.target = target;
        std::vector<Tensor> tensors = tensorsFromDict(inputs);
        specializeToInputs(options, tensors, "inputs");
        std::string path, bytes;
        if (py::isinstance<py::bytes>(model))
          bytes = model.cast<std::string>();
        else
          path = model.cast<std::string>();
        llvm::Expected<std::unique_ptr<CompiledModel>> compiled = [&] {
          py::gil_scoped_release release;
          return path.empty()
                     ? CompiledModel::compileBytes(bytes, name, options)
                     : CompiledModel::compileFile(path, options);
        }();
        if (!compiled)
          raise(compiled.takeError());
        (*compiled)->setEmulateGPU(emulateGPU);
        return runModel(**compiled, std::move(tensors));
      },
      py::arg("model"), py::arg("name"), py::arg("inputs"), py::arg("target"),
      py::arg("quant"), py::arg("target_descs"), py::arg("quant_options"),
      py::arg("emulate_gpu"));
  m.def(
      "read_tensor",
      [](const std::string &path) {
        return toNumpy(unwrap(readTensorFile(path)));
      },
      py::arg("path"),
      "Reads a tensor file as llm-run's --input and --expect do: a .npy "
      "array or an ONNX TensorProto (.pb).");
  m.def(
      "compare",
      [](py::handle actual, py::handle expected, double rtol, double atol,
         const std::string &name) -> std::optional<std::string> {
        return compareTensors(fromNumpy(name, actual),
                              fromNumpy(name, expected), rtol, atol);
      },
      py::arg("actual"), py::arg("expected"), py::arg("rtol") = 1e-4,
      py::arg("atol") = 1e-5, py::arg("name") = "output",
      "Compares as llm-run's --expect does (|a - e| <= atol + rtol * |e|, "
      "NaN matching NaN): None, or the worst mismatch as one line.");
  // llm-run in this process (llmRunMain) on `argv` (argv[0] the program
  // name its usage errors show): its exit code; what it prints goes to file
  // descriptors 1 and 2, flushed before this returns.
  m.def(
      "_llm_run",
      [](std::vector<std::string> owned) {
        if (owned.empty())
          throw py::value_error("_llm_run needs argv[0]");
        std::vector<char *> argv;
        for (std::string &argument : owned)
          argv.push_back(argument.data());
        argv.push_back(nullptr);
        int status;
        {
          py::gil_scoped_release release;
          status = llmRunMain(static_cast<int>(owned.size()), argv.data());
          llvm::outs().flush();
          llvm::errs().flush();
        }
        return status;
      },
      py::arg("argv"));
  m.def(
      "load",
      [](const std::string &directory) {
        return unwrap(CompiledModel::load(directory));
      },
      py::arg("directory"), "Loads an artifact folder written by save().");
}
