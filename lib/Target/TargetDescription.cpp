//===- TargetDescription.cpp - hardware descriptions as data --------------===//
#include "llmc/Target/TargetDescription.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>

using namespace llmc;
using llvm::StringRef;

namespace {
struct Bundled {
  StringRef name;
  StringRef text;
};
const Bundled kBundled[] = {
#include "BundledTargets.inc"
};

llvm::Error fail(StringRef origin, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 origin + ": " + message);
}

const llvm::json::Value *lookup(const llvm::json::Object &root,
                                StringRef dottedPath) {
  const llvm::json::Object *object = &root;
  llvm::SmallVector<StringRef> parts;
  dottedPath.split(parts, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const llvm::json::Value *value = object->get(parts[i]);
    if (!value || i + 1 == parts.size())
      return value;
    object = value->getAsObject();
    if (!object)
      return nullptr;
  }
  return nullptr;
}

/// Checks the fields every consumer relies on; one line per problem.
llvm::Error validate(const llvm::json::Object &root, StringRef origin) {
  auto str = [&](StringRef key) -> llvm::Expected<StringRef> {
    std::optional<StringRef> value = root.getString(key);
    if (!value || value->empty())
      return fail(origin, "field '" + key + "' must be a non-empty string");
    return *value;
  };
  auto positive = [&](StringRef path, bool allowZero = false) -> llvm::Error {
    const llvm::json::Value *value = lookup(root, path);
    std::optional<double> number = value ? value->getAsNumber() : std::nullopt;
    if (!number || !std::isfinite(*number) || *number < 0 ||
        (!allowZero && *number == 0))
      return fail(origin, "field '" + path + "' must be a number " +
                              (allowZero ? ">= 0" : "> 0"));
    return llvm::Error::success();
  };
  auto kind = str("kind");
  if (!kind)
    return kind.takeError();
  if (!llvm::is_contained({"gpu", "fpga", "npu", "cpu"}, *kind))
    return fail(origin, "field 'kind' is '" + *kind +
                            "'; expected gpu, fpga, npu or cpu");
  if (auto name = str("name"); !name)
    return name.takeError();
  for (StringRef path : {"clock_hz", "compute_units", "vector_ops_per_s",
                         "memory.bandwidth_bytes_per_s", "on_chip_bytes",
                         "power_w"})
    if (auto error = positive(path))
      return error;
  if (root.get("op_overhead_s"))
    if (auto error = positive("op_overhead_s", /*allowZero=*/true))
      return error;

  const llvm::json::Object *rates = root.getObject("matrix_ops_per_s");
  if (!rates || rates->empty())
    return fail(origin, "field 'matrix_ops_per_s' must be an object of "
                        "dtype: ops per second");
  const llvm::json::Object *units = root.getObject("matrix_unit");
  for (const auto &entry : *rates) {
    std::string path = ("matrix_ops_per_s." + entry.first.str());
    if (auto error = positive(path))
      return error;
    const llvm::json::Array *shape =
        units ? units->getArray(entry.first) : nullptr;
    bool valid = shape && shape->size() == 3 &&
                 llvm::all_of(*shape, [](const llvm::json::Value &v) {
                   std::optional<int64_t> n = v.getAsInteger();
                   return n && *n > 0;
                 });
    if (!valid)
      return fail(origin, "field 'matrix_unit." + entry.first.str() +
                              "' must be [m, n, k] of positive integers");
  }

  // Every figure names where it comes from.
  const llvm::json::Object *sources = root.getObject("sources");
  if (!sources)
    return fail(origin, "field 'sources' (a citation per figure) is missing");
  for (const auto &entry : root) {
    StringRef key = entry.first;
    if (llvm::is_contained({"name", "kind", "description", "sources"}, key))
      continue;
    if (key == *kind) {
      const llvm::json::Object *section = entry.second.getAsObject();
      if (!section)
        return fail(origin, "field '" + key + "' must be an object");
      for (const auto &member : *section) {
        std::string path = key.str() + "." + member.first.str();
        if (!sources->getString(path))
          return fail(origin, "figure '" + path + "' has no entry in 'sources'");
      }
      continue;
    }
    if (!sources->getString(key))
      return fail(origin, "figure '" + key + "' has no entry in 'sources'");
  }
  return llvm::Error::success();
}

mlir::Attribute toAttribute(mlir::Builder &builder,
                            const llvm::json::Value &value) {
  if (const llvm::json::Object *object = value.getAsObject()) {
    llvm::SmallVector<mlir::NamedAttribute> members;
    for (const auto &entry : *object)
      members.push_back(builder.getNamedAttr(
          entry.first.str(), toAttribute(builder, entry.second)));
    return builder.getDictionaryAttr(members);
  }
  if (const llvm::json::Array *array = value.getAsArray()) {
    llvm::SmallVector<mlir::Attribute> elements;
    for (const llvm::json::Value &element : *array)
      elements.push_back(toAttribute(builder, element));
    return builder.getArrayAttr(elements);
  }
  if (std::optional<StringRef> text = value.getAsString())
    return builder.getStringAttr(*text);
  if (std::optional<bool> flag = value.getAsBoolean())
    return builder.getBoolAttr(*flag);
  if (std::optional<int64_t> integer = value.getAsInteger())
    return builder.getI64IntegerAttr(*integer);
  if (std::optional<double> number = value.getAsNumber()) {
    double integral;
    if (std::modf(*number, &integral) == 0.0 && std::fabs(*number) < 9e15)
      return builder.getI64IntegerAttr(static_cast<int64_t>(*number));
    return builder.getF64FloatAttr(*number);
  }
  return builder.getUnitAttr();
}

std::optional<llvm::json::Value> toJSON(mlir::Attribute attr) {
  if (auto dict = llvm::dyn_cast<mlir::DictionaryAttr>(attr)) {
    llvm::json::Object object;
    for (mlir::NamedAttribute member : dict) {
      std::optional<llvm::json::Value> value = toJSON(member.getValue());
      if (!value)
        return std::nullopt;
      object[member.getName().strref()] = std::move(*value);
    }
    return llvm::json::Value(std::move(object));
  }
  if (auto array = llvm::dyn_cast<mlir::ArrayAttr>(attr)) {
    llvm::json::Array elements;
    for (mlir::Attribute element : array) {
      std::optional<llvm::json::Value> value = toJSON(element);
      if (!value)
        return std::nullopt;
      elements.push_back(std::move(*value));
    }
    return llvm::json::Value(std::move(elements));
  }
  if (auto text = llvm::dyn_cast<mlir::StringAttr>(attr))
    return llvm::json::Value(text.getValue().str());
  if (auto flag = llvm::dyn_cast<mlir::BoolAttr>(attr))
    return llvm::json::Value(flag.getValue());
  if (auto integer = llvm::dyn_cast<mlir::IntegerAttr>(attr))
    return llvm::json::Value(integer.getInt());
  if (auto number = llvm::dyn_cast<mlir::FloatAttr>(attr))
    return llvm::json::Value(number.getValueAsDouble());
  return std::nullopt;
}
} // namespace

llvm::ArrayRef<StringRef> TargetDescription::bundled() {
  static const std::vector<StringRef> names = [] {
    std::vector<StringRef> result;
    for (const Bundled &entry : kBundled)
      result.push_back(entry.name);
    return result;
  }();
  return names;
}

llvm::Expected<TargetDescription>
TargetDescription::parse(StringRef text, StringRef origin) {
  llvm::Expected<llvm::json::Value> value = llvm::json::parse(text);
  if (!value)
    return fail(origin, "not valid JSON: " + llvm::toString(value.takeError()));
  llvm::json::Object *object = value->getAsObject();
  if (!object)
    return fail(origin, "a target description is a JSON object");
  if (auto error = validate(*object, origin))
    return std::move(error);
  TargetDescription desc;
  desc.nameValue = object->getString("name")->str();
  desc.kindValue = object->getString("kind")->str();
  desc.originValue = origin.str();
  desc.root = std::move(*object);
  return desc;
}

llvm::Expected<TargetDescription> TargetDescription::load(StringRef nameOrPath) {
  for (const Bundled &entry : kBundled)
    if (entry.name == nameOrPath)
      return parse(entry.text, ("bundled:" + entry.name).str());
  auto buffer = llvm::MemoryBuffer::getFile(nameOrPath);
  if (!buffer)
    return fail(nameOrPath,
                "cannot read target description: " +
                    buffer.getError().message() + " (bundled: " +
                    llvm::join(bundled(), ", ") + ")");
  return parse((*buffer)->getBuffer(), nameOrPath);
}

llvm::Expected<TargetDescription>
TargetDescription::fromAttr(mlir::DictionaryAttr attr) {
  std::optional<llvm::json::Value> value = attr ? toJSON(attr) : std::nullopt;
  if (!value)
    return fail("llm.target", "not a target description dictionary");
  std::string text;
  llvm::raw_string_ostream os(text);
  os << *value;
  return parse(text, "llm.target");
}

mlir::DictionaryAttr
TargetDescription::toAttr(mlir::MLIRContext *context) const {
  mlir::Builder builder(context);
  return llvm::cast<mlir::DictionaryAttr>(
      toAttribute(builder, llvm::json::Value(llvm::json::Object(root))));
}

std::optional<StringRef> TargetDescription::defaultFor(StringRef target) {
  if (target == "ptx")
    return StringRef("h100");
  if (target == "hls")
    return StringRef("u280");
  if (target == "npu")
    return StringRef("npu");
  return std::nullopt;
}

StringRef TargetDescription::backend() const {
  return llvm::StringSwitch<StringRef>(kindValue)
      .Case("gpu", "ptx")
      .Case("fpga", "hls")
      .Case("npu", "npu")
      .Default("host");
}

std::optional<double> TargetDescription::number(StringRef dottedPath) const {
  const llvm::json::Value *value = lookup(root, dottedPath);
  return value ? value->getAsNumber() : std::nullopt;
}

bool TargetDescription::givesFigureOutside(StringRef dottedPath, double low,
                                           double high, bool whole) const {
  const llvm::json::Value *value = lookup(root, dottedPath);
  if (!value)
    return false;
  std::optional<double> figure = value->getAsNumber();
  return !figure || !std::isfinite(*figure) || *figure < low ||
         *figure > high || (whole && *figure != std::floor(*figure));
}

double TargetDescription::clockHz() const { return *number("clock_hz"); }
double TargetDescription::computeUnits() const {
  return *number("compute_units");
}
std::optional<double>
TargetDescription::matrixOpsPerSecond(StringRef dtype) const {
  return number(("matrix_ops_per_s." + dtype).str());
}
double TargetDescription::vectorOpsPerSecond() const {
  return *number("vector_ops_per_s");
}
double TargetDescription::memoryBandwidth() const {
  return *number("memory.bandwidth_bytes_per_s");
}
double TargetDescription::onChipBytes() const {
  return *number("on_chip_bytes");
}
double TargetDescription::powerWatts() const { return *number("power_w"); }
double TargetDescription::opOverheadSeconds() const {
  return number("op_overhead_s").value_or(0.0);
}

std::optional<std::array<int64_t, 3>>
TargetDescription::matrixUnit(StringRef dtype) const {
  const llvm::json::Object *units = root.getObject("matrix_unit");
  const llvm::json::Array *shape = units ? units->getArray(dtype) : nullptr;
  if (!shape || shape->size() != 3)
    return std::nullopt;
  std::array<int64_t, 3> result;
  for (int i = 0; i < 3; ++i)
    result[i] = (*shape)[i].getAsInteger().value_or(1);
  return result;
}
