//===- HLSCppEmitter.cpp - annotated affine loops to HLS C++ --------------===//
//
// Writes the HLS pipeline's output as one Vitis-style C++ kernel. Every
// memref is a flat fixed-size array: ports are the function's array
// parameters, buffers are `static` arrays (large ones must not live on the
// C-simulation stack), constants are `static const` arrays; views (subview,
// expand/collapse_shape, casts) are no code at all, only a different linear
// index into their root array computed from the view's static strided
// layout. Scalars are `const` locals, one per SSA value; loops keep their
// labels and the pragmas the annotate pass chose. Modeled on MLIR's EmitC
// translator (mlir/lib/Target/Cpp/TranslateToCpp.cpp), without the EmitC
// dialect in between: the HLS subset is small and fixed.
//
//===----------------------------------------------------------------------===//
#include "llmc/Target/HLS/HLSCpp.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Support/IndentedOstream.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using llvm::StringRef;

namespace {

std::string sanitizeName(StringRef text) {
  std::string out;
  for (char c : text) {
    char d = llvm::isAlnum(c) ? c : '_';
    if (d == '_' && !out.empty() && out.back() == '_')
      continue;
    out.push_back(d);
  }
  while (!out.empty() && out.back() == '_')
    out.pop_back();
  while (!out.empty() && out.front() == '_')
    out.erase(out.begin());
  if (out.empty() || llvm::isDigit(out.front()))
    out = "t_" + out;
  return out;
}

FailureOr<std::string> cType(Type type, Location loc) {
  if (type.isF32())
    return std::string("float");
  // IEEE binary16 and bfloat16 as their bits: such values are only loaded,
  // stored and converted (the HLS pipeline computes their arithmetic in
  // f32).
  if (type.isF16())
    return std::string("llmc_half");
  if (type.isBF16())
    return std::string("llmc_bfloat");
  if (type.isF64())
    return std::string("double");
  if (type.isIndex())
    return std::string("int64_t");
  if (auto integer = dyn_cast<IntegerType>(type)) {
    unsigned width = integer.getWidth();
    if (width == 1)
      return std::string("bool");
    if (width == 8 || width == 16 || width == 32 || width == 64)
      return std::string(integer.isUnsigned() ? "uint" : "int") +
             std::to_string(width) + "_t";
  }
  return emitError(loc) << "the HLS C++ emitter does not support the type "
                        << type;
}

/// The unsigned C type of an integer's width (for unsigned operations).
std::string unsignedType(Type type) {
  unsigned width = type.isIndex() ? 64 : type.getIntOrFloatBitWidth();
  if (width == 1)
    return "bool";
  return "uint" + std::to_string(std::max(8u, width)) + "_t";
}

std::string floatLiteral(const llvm::APFloat &value, bool isDouble) {
  for (auto [semantics, name] :
       {std::pair(&llvm::APFloat::IEEEhalf(), "llmc_half"),
        std::pair(&llvm::APFloat::BFloat(), "llmc_bfloat")})
    if (&value.getSemantics() == semantics)
      return llvm::formatv("(({0})0x{1:x-4})", name,
                           value.bitcastToAPInt().getZExtValue())
          .str();
  double v = value.convertToDouble();
  if (std::isnan(v))
    return isDouble ? "(double)NAN" : "NAN";
  if (std::isinf(v))
    return std::string(v < 0 ? "(-" : "(") +
           (isDouble ? "(double)INFINITY)" : "INFINITY)");
  std::string text =
      llvm::formatv("{0}", llvm::format(isDouble ? "%.17g" : "%.9g", v)).str();
  if (text.find_first_of(".en") == std::string::npos)
    text += ".0";
  if (!isDouble)
    text += "f";
  return text.front() == '-' ? "(" + text + ")" : text;
}

std::string intLiteral(const llvm::APInt &value, Type type) {
  if (type.isInteger(1))
    return value.isZero() ? "false" : "true";
  bool isUnsigned = type.isUnsignedInteger();
  if (isUnsigned) {
    uint64_t v = value.getZExtValue();
    return std::to_string(v) + "ULL";
  }
  int64_t v = value.getSExtValue();
  if (v == INT64_MIN)
    return "INT64_MIN";
  std::string text = std::to_string(v);
  if (v > INT32_MAX || v < INT32_MIN)
    text += "LL";
  return v < 0 ? "(" + text + ")" : text;
}

/// The ONNX node names in a location.
void nodeNames(Location loc, SmallVectorImpl<std::string> &names) {
  if (auto name = dyn_cast<NameLoc>(loc)) {
    names.push_back(name.getName().str());
    return;
  }
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      nodeNames(inner, names);
}

class Emitter {
public:
  explicit Emitter(raw_ostream &out) : os(out) {}

  LogicalResult emitModule(ModuleOp module);
  FailureOr<std::string> prototype(func::FuncOp func);

private:
  raw_indented_ostream os;
  DenseMap<Value, std::string> names;
  llvm::StringSet<> usedNames;
  llvm::StringMap<std::string> globalNames;
  SmallVector<std::string> argNames;
  int64_t nextValue = 0, nextLoop = 0;

  std::string fresh(StringRef prefix) {
    for (;;) {
      std::string name =
          (prefix + std::to_string(prefix == "i" ? nextLoop++ : nextValue++))
              .str();
      if (usedNames.insert(name).second)
        return name;
    }
  }
  std::string reserve(std::string name) {
    // C++ keywords and alternative tokens (an ONNX output named "and" or
    // "xor" is common), and the names the kernel itself uses.
    static const llvm::StringSet<> reserved = {
        "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand",
        "bitor", "bool", "break", "case", "catch", "char", "char16_t",
        "char32_t", "class", "compl", "const", "constexpr", "const_cast",
        "continue", "decltype", "default", "delete", "do", "double",
        "dynamic_cast", "else", "enum", "explicit", "export", "extern",
        "false", "float", "for", "friend", "goto", "if", "inline", "int",
        "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
        "nullptr", "operator", "or", "or_eq", "private", "protected",
        "public", "register", "reinterpret_cast", "return", "short", "signed",
        "sizeof", "static", "static_assert", "static_cast", "struct",
        "switch", "template", "this", "thread_local", "throw", "true", "try",
        "typedef", "typeid", "typename", "union", "unsigned", "using",
        "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq",
        "main", "std", "NAN", "INFINITY", "INT64_MIN", "int8_t", "int16_t",
        "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t",
        "expf", "exp2f", "expm1f", "logf", "log2f", "log10f", "log1pf",
        "tanhf", "tanf", "atanf", "atan2f", "erff", "sqrtf", "powf", "fabsf",
        "floorf", "ceilf", "truncf", "roundf", "rintf", "sinf", "cosf",
        "copysignf", "fmaf", "fmodf", "fmaxf", "fminf", "exp", "exp2", "expm1",
        "log", "log2", "log10", "log1p", "tanh", "tan", "atan", "atan2",
        "erf", "sqrt", "pow", "fabs", "floor", "ceil", "trunc", "round",
        "rint", "sin", "cos", "copysign", "fma", "fmod", "fmax", "fmin"};
    if (reserved.contains(name) || StringRef(name).starts_with("llmc_"))
      name += "_";
    std::string base = name;
    for (int i = 1; !usedNames.insert(name).second; ++i)
      name = base + "_" + std::to_string(i);
    return name;
  }

  LogicalResult emitGlobal(memref::GlobalOp global);
  LogicalResult emitFunction(func::FuncOp func);
  LogicalResult emitBlock(Block &block);
  LogicalResult emitOperation(Operation *op);
  LogicalResult emitFor(affine::AffineForOp loop);
  LogicalResult emitIf(scf::IfOp op);
  LogicalResult emitAlloc(Operation *op);
  LogicalResult emitScalar(Operation *op);
  FailureOr<std::string> value(Value v);
  FailureOr<std::string> affineExpr(AffineExpr expr, ArrayRef<std::string> dims,
                                    ArrayRef<std::string> symbols);
  FailureOr<std::string> element(Operation *op, Value memref, AffineMap map,
                                 ValueRange operands);
  void emitPragmas(Operation *holder, StringRef variable);
  LogicalResult declare(Value result, const std::string &expr);
};

FailureOr<std::string> Emitter::value(Value v) {
  if (auto constant = v.getDefiningOp<arith::ConstantOp>()) {
    Attribute attr = constant.getValue();
    if (auto f = dyn_cast<FloatAttr>(attr))
      return floatLiteral(f.getValue(), f.getType().isF64());
    if (auto i = dyn_cast<IntegerAttr>(attr))
      return intLiteral(i.getValue(), i.getType());
    return constant.emitOpError("is not a scalar constant the HLS C++ "
                                "emitter can write");
  }
  auto it = names.find(v);
  if (it == names.end()) {
    Location loc = v.getDefiningOp() ? v.getDefiningOp()->getLoc()
                                     : cast<BlockArgument>(v).getLoc();
    return emitError(loc) << "the HLS C++ emitter met a value it has not "
                             "named (an unsupported producer)";
  }
  return it->second;
}

FailureOr<std::string> Emitter::affineExpr(AffineExpr expr,
                                           ArrayRef<std::string> dims,
                                           ArrayRef<std::string> symbols) {
  if (auto dim = dyn_cast<AffineDimExpr>(expr))
    return dims[dim.getPosition()];
  if (auto symbol = dyn_cast<AffineSymbolExpr>(expr))
    return symbols[symbol.getPosition()];
  if (auto constant = dyn_cast<AffineConstantExpr>(expr)) {
    int64_t v = constant.getValue();
    return v < 0 ? "(" + std::to_string(v) + ")" : std::to_string(v);
  }
  auto binary = cast<AffineBinaryOpExpr>(expr);
  FailureOr<std::string> lhs = affineExpr(binary.getLHS(), dims, symbols);
  FailureOr<std::string> rhs = affineExpr(binary.getRHS(), dims, symbols);
  if (failed(lhs) || failed(rhs))
    return failure();
  switch (expr.getKind()) {
  case AffineExprKind::Add:
    return "(" + *lhs + " + " + *rhs + ")";
  case AffineExprKind::Mul:
    return "(" + *lhs + " * " + *rhs + ")";
  case AffineExprKind::Mod:
    return "llmc_mod(" + *lhs + ", " + *rhs + ")";
  case AffineExprKind::FloorDiv:
    return "llmc_floordiv(" + *lhs + ", " + *rhs + ")";
  case AffineExprKind::CeilDiv:
    return "llmc_ceildiv(" + *lhs + ", " + *rhs + ")";
  default:
    return failure();
  }
}

/// The root array of a memref value and the element `map(operands)` of the
/// value, as `root[flat index]` where the flat index applies the value's
/// static strided layout.
FailureOr<std::string> Emitter::element(Operation *op, Value memref,
                                        AffineMap map, ValueRange operands) {
  auto type = cast<MemRefType>(memref.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  if (type.hasStaticShape() && type.getNumElements() == 0) {
    // An empty array: the access never runs (its loops have no iterations).
    strides.assign(type.getRank(), 0);
    offset = 0;
  } else if (failed(type.getStridesAndOffset(strides, offset)) ||
      ShapedType::isDynamic(offset) ||
      llvm::any_of(strides, ShapedType::isDynamic))
    return op->emitOpError() << "accesses " << type
                             << ", whose layout is not static; HLS arrays "
                                "need static strides and offsets";
  Value root = memref;
  while (Operation *def = root.getDefiningOp()) {
    auto view = dyn_cast<ViewLikeOpInterface>(def);
    if (!view)
      break;
    root = view.getViewSource();
  }
  FailureOr<std::string> base = value(root);
  if (failed(base))
    return failure();
  MLIRContext *context = op->getContext();
  AffineExpr flat = getAffineConstantExpr(offset, context);
  for (auto [d, result] : llvm::enumerate(map.getResults()))
    flat = flat + result * strides[d];
  flat = simplifyAffineExpr(flat, map.getNumDims(), map.getNumSymbols());
  SmallVector<std::string> dims, symbols;
  for (auto [i, operand] : llvm::enumerate(operands)) {
    FailureOr<std::string> name = value(operand);
    if (failed(name))
      return failure();
    (i < map.getNumDims() ? dims : symbols).push_back(*name);
  }
  FailureOr<std::string> index = affineExpr(flat, dims, symbols);
  if (failed(index))
    return op->emitOpError("has an index the HLS C++ emitter cannot write");
  std::string text = *index;
  if (text.size() > 2 && text.front() == '(' && text.back() == ')') {
    // Drop one pair of outer parentheses when they enclose everything.
    int depth = 0;
    bool outer = true;
    for (size_t i = 0; i + 1 < text.size(); ++i) {
      depth += text[i] == '(' ? 1 : text[i] == ')' ? -1 : 0;
      if (depth == 0) {
        outer = false;
        break;
      }
    }
    if (outer)
      text = text.substr(1, text.size() - 2);
  }
  return *base + "[" + text + "]";
}

LogicalResult Emitter::declare(Value result, const std::string &expr) {
  FailureOr<std::string> type = cType(result.getType(), result.getLoc());
  if (failed(type))
    return failure();
  std::string name = fresh("v");
  names[result] = name;
  os << "const " << *type << " " << name << " = " << expr << ";\n";
  return success();
}

LogicalResult Emitter::emitGlobal(memref::GlobalOp global) {
  auto type = global.getType();
  if (!type.hasStaticShape())
    return global.emitOpError("has a dynamic shape; HLS arrays are static");
  FailureOr<std::string> element = cType(type.getElementType(), global.getLoc());
  if (failed(element))
    return failure();
  std::string name = reserve("g_" + sanitizeName(global.getSymName()));
  globalNames[global.getSymName()] = name;
  int64_t count = std::max<int64_t>(1, type.getNumElements());
  os << "static " << (global.getConstant() ? "const " : "") << *element << " "
     << name << "[" << count << "]";
  auto initial = dyn_cast_if_present<ElementsAttr>(
      global.getInitialValue().value_or(Attribute()));
  if (!initial) {
    os << ";\n";
    return success();
  }
  Type elementType = type.getElementType();
  std::vector<std::string> values;
  values.reserve(count);
  if (auto dense = dyn_cast<DenseElementsAttr>(initial)) {
    if (isa<FloatType>(elementType))
      for (const llvm::APFloat &v : dense.getValues<llvm::APFloat>())
        values.push_back(floatLiteral(v, elementType.isF64()));
    else
      for (const llvm::APInt &v : dense.getValues<llvm::APInt>())
        values.push_back(intLiteral(v, elementType));
  } else if (auto resource = dyn_cast<DenseResourceElementsAttr>(initial)) {
    const AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return global.emitOpError("has a resource without data");
    ArrayRef<char> data = blob->getData();
    unsigned bits = elementType.getIntOrFloatBitWidth();
    size_t bytes = bits == 1 ? 1 : bits / 8;
    if (data.size() != bytes * count)
      return global.emitOpError("has a resource of the wrong size");
    for (int64_t i = 0; i < count; ++i) {
      uint64_t raw = 0;
      std::memcpy(&raw, data.data() + i * bytes, bytes);
      llvm::APInt bitsValue(bits == 1 ? 8 : bits, raw);
      if (isa<FloatType>(elementType))
        values.push_back(floatLiteral(
            llvm::APFloat(cast<FloatType>(elementType).getFloatSemantics(),
                          bitsValue),
            elementType.isF64()));
      else
        values.push_back(intLiteral(bits == 1 ? bitsValue.trunc(1) : bitsValue,
                                    elementType));
    }
  } else {
    return global.emitOpError("has an initial value the HLS C++ emitter "
                              "cannot write");
  }
  os << " = {";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i % 8 == 0)
      os << "\n    ";
    os << values[i] << (i + 1 < values.size() ? ", " : "");
  }
  os << "};\n";
  return success();
}

void Emitter::emitPragmas(Operation *holder, StringRef variable) {
  bool rom = false;
  if (auto global = dyn_cast<memref::GlobalOp>(holder))
    rom = global.getConstant();
  auto factor = holder->getAttrOfType<IntegerAttr>("hls.array_partition");
  auto storage = holder->getAttrOfType<StringAttr>("hls.storage");
  if (storage && storage.getValue() == "reg") {
    os << "#pragma HLS ARRAY_PARTITION variable=" << variable
       << " type=complete dim=1\n";
    return;
  }
  if (factor && factor.getInt() > 1)
    os << "#pragma HLS ARRAY_PARTITION variable=" << variable
       << " type=cyclic factor=" << factor.getInt() << " dim=1\n";
  if (storage)
    os << "#pragma HLS BIND_STORAGE variable=" << variable
       << " type=" << (rom ? "rom_2p" : "ram_2p") << " impl=" << storage.getValue()
       << "\n";
}

FailureOr<std::string> Emitter::prototype(func::FuncOp func) {
  argNames.clear();
  std::vector<bool> written(func.getNumArguments(), false);
  func.walk([&](Operation *op) {
    Value memref;
    if (auto store = dyn_cast<affine::AffineStoreOp>(op))
      memref = store.getMemRef();
    else if (auto store = dyn_cast<memref::StoreOp>(op))
      memref = store.getMemRef();
    else
      return;
    while (Operation *def = memref.getDefiningOp()) {
      auto view = dyn_cast<ViewLikeOpInterface>(def);
      if (!view)
        break;
      memref = view.getViewSource();
    }
    if (auto arg = dyn_cast<BlockArgument>(memref))
      if (arg.getOwner()->getParentOp() == func)
        written[arg.getArgNumber()] = true;
  });
  std::string text = "void " + sanitizeName(func.getName()) + "(";
  int64_t outputs = 0;
  for (auto [index, arg] : llvm::enumerate(func.getArguments())) {
    auto type = dyn_cast<MemRefType>(arg.getType());
    if (!type || !type.hasStaticShape())
      return func.emitError() << "argument #" << index << " has the type "
                              << arg.getType()
                              << "; HLS ports are memrefs of static shape";
    FailureOr<std::string> element = cType(type.getElementType(), arg.getLoc());
    if (failed(element))
      return failure();
    std::string name;
    if (auto weight = func.getArgAttrOfType<StringAttr>(index, "llm.weight"))
      name = sanitizeName(weight.getValue());
    else if (auto given = func.getArgAttrOfType<StringAttr>(index, "llm.name"))
      name = sanitizeName(given.getValue());
    else if (written[index])
      name = "out" + std::to_string(outputs++);
    else
      name = "arg" + std::to_string(index);
    name = reserve(name);
    argNames.push_back(name);
    names[arg] = name;
    if (index)
      text += ", ";
    text += (written[index] ? "" : "const ") + *element + " " + name + "[" +
            std::to_string(std::max<int64_t>(1, type.getNumElements())) + "]";
  }
  return text + ")";
}

LogicalResult Emitter::emitFunction(func::FuncOp func) {
  if (func.getNumResults())
    return func.emitError() << "@" << func.getName()
                            << " returns values; the HLS kernel writes its "
                               "outputs to out-parameters (run the HLS "
                               "pipeline first)";
  FailureOr<std::string> header = prototype(func);
  if (failed(header))
    return failure();
  os << "\n" << *header << " {\n";
  for (auto [index, name] : llvm::enumerate(argNames)) {
    auto port = func.getArgAttrOfType<DictionaryAttr>(index, "hls.interface");
    if (!port)
      continue;
    auto bundle = port.getAs<StringAttr>("bundle");
    auto depth = port.getAs<IntegerAttr>("depth");
    os << "#pragma HLS INTERFACE m_axi port=" << name << " offset=slave bundle="
       << (bundle ? bundle.getValue() : StringRef("gmem"))
       << " depth=" << (depth ? depth.getInt() : 1)
       << " max_widen_bitwidth=512\n";
    os << "#pragma HLS INTERFACE s_axilite port=" << name << " bundle=control\n";
  }
  os << "#pragma HLS INTERFACE s_axilite port=return bundle=control\n";
  if (func->hasAttr("hls.dataflow"))
    os << "#pragma HLS DATAFLOW\n";
  else if (auto reason = func->getAttrOfType<StringAttr>("hls.dataflow_blocked"))
    os << "// No DATAFLOW: " << reason.getValue()
       << " (stages are not a single-producer single-consumer chain).\n";
  // Pragmas on the constants the function uses.
  llvm::StringSet<> seenGlobals;
  func.walk([&](memref::GetGlobalOp get) {
    auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
        get, get.getNameAttr());
    if (global && seenGlobals.insert(global.getSymName()).second)
      emitPragmas(global, globalNames.lookup(global.getSymName()));
  });
  os.indent();
  LogicalResult result = emitBlock(func.getBody().front());
  os.unindent();
  os << "}\n";
  return result;
}

LogicalResult Emitter::emitBlock(Block &block) {
  for (Operation &op : block)
    if (failed(emitOperation(&op)))
      return failure();
  return success();
}

LogicalResult Emitter::emitAlloc(Operation *op) {
  auto type = cast<MemRefType>(op->getResult(0).getType());
  if (!type.hasStaticShape())
    return op->emitOpError() << "allocates " << type
                             << "; HLS buffers need static shapes";
  FailureOr<std::string> element = cType(type.getElementType(), op->getLoc());
  if (failed(element))
    return failure();
  std::string name;
  if (auto given = op->getAttrOfType<StringAttr>("hls.name"))
    name = reserve(given.str());
  else
    name = fresh("buf");
  names[op->getResult(0)] = name;
  os << "static " << *element << " " << name << "["
     << std::max<int64_t>(1, type.getNumElements()) << "];\n";
  emitPragmas(op, name);
  return success();
}

LogicalResult Emitter::emitFor(affine::AffineForOp loop) {
  if (!loop.hasConstantBounds())
    return loop.emitOpError("has non-constant bounds; HLS loops need static "
                            "trip counts");
  if (auto stage = loop->getAttrOfType<IntegerAttr>("hls.stage")) {
    SmallVector<std::string> nodes;
    if (auto recorded = loop->getAttrOfType<ArrayAttr>("hls.nodes"))
      for (auto name : recorded.getAsValueRange<StringAttr>())
        nodes.push_back(name.str());
    else
      nodeNames(loop.getLoc(), nodes);
    os << "// Stage " << stage.getInt();
    if (!nodes.empty()) {
      os << ", ONNX node" << (nodes.size() > 1 ? "s" : "") << " ";
      for (auto [i, node] : llvm::enumerate(nodes))
        os << (i ? ", " : "") << "'" << node << "'";
    }
    if (auto cycles = loop->getAttrOfType<IntegerAttr>("hls.cycles"))
      os << ": ~" << cycles.getInt() << " cycles";
    if (auto dsp = loop->getAttrOfType<IntegerAttr>("hls.dsp"))
      os << ", " << dsp.getInt() << " DSP";
    os << "\n";
  }
  // Loop-carried values live in variables declared before the loop.
  SmallVector<std::string> carried;
  for (auto [init, result, arg] :
       llvm::zip(loop.getInits(), loop.getResults(), loop.getRegionIterArgs())) {
    FailureOr<std::string> type = cType(result.getType(), loop.getLoc());
    FailureOr<std::string> initial = value(init);
    if (failed(type) || failed(initial))
      return failure();
    std::string name = fresh("r");
    os << *type << " " << name << " = " << *initial << ";\n";
    names[result] = names[arg] = name;
    carried.push_back(name);
  }
  std::string iv = fresh("i");
  names[loop.getInductionVar()] = iv;
  if (auto label = loop->getAttrOfType<StringAttr>("hls.label"))
    os << reserve(sanitizeName(label.getValue())) << ": ";
  os << "for (int64_t " << iv << " = " << loop.getConstantLowerBound() << "; "
     << iv << " < " << loop.getConstantUpperBound() << "; " << iv
     << " += " << loop.getStepAsInt() << ") {\n";
  if (auto ii = loop->getAttrOfType<IntegerAttr>("hls.pipeline_ii"))
    os << "#pragma HLS PIPELINE II=" << ii.getInt() << "\n";
  if (auto unroll = loop->getAttrOfType<IntegerAttr>("hls.unroll"))
    os << "#pragma HLS UNROLL factor=" << unroll.getInt() << "\n";
  os.indent();
  for (Operation &op : loop.getBody()->without_terminator())
    if (failed(emitOperation(&op)))
      return failure();
  auto yield = cast<affine::AffineYieldOp>(loop.getBody()->getTerminator());
  if (!carried.empty()) {
    SmallVector<std::string> next;
    for (Value operand : yield.getOperands()) {
      FailureOr<std::string> v = value(operand);
      if (failed(v))
        return failure();
      next.push_back(*v);
    }
    for (auto [name, v] : llvm::zip(carried, next))
      os << name << " = " << v << ";\n";
  }
  os.unindent();
  os << "}\n";
  return success();
}

LogicalResult Emitter::emitIf(scf::IfOp op) {
  SmallVector<std::string> results;
  for (Value result : op.getResults()) {
    FailureOr<std::string> type = cType(result.getType(), op.getLoc());
    if (failed(type))
      return failure();
    std::string name = fresh("r");
    os << *type << " " << name << ";\n";
    names[result] = name;
    results.push_back(name);
  }
  FailureOr<std::string> condition = value(op.getCondition());
  if (failed(condition))
    return failure();
  auto emitRegion = [&](Region &region) -> LogicalResult {
    os.indent();
    Block &block = region.front();
    for (Operation &inner : block.without_terminator())
      if (failed(emitOperation(&inner)))
        return failure();
    if (auto yield = dyn_cast<scf::YieldOp>(block.getTerminator()))
      for (auto [name, operand] : llvm::zip(results, yield.getOperands())) {
        FailureOr<std::string> v = value(operand);
        if (failed(v))
          return failure();
        os << name << " = " << *v << ";\n";
      }
    os.unindent();
    return success();
  };
  os << "if (" << *condition << ") {\n";
  if (failed(emitRegion(op.getThenRegion())))
    return failure();
  if (!op.getElseRegion().empty()) {
    os << "} else {\n";
    if (failed(emitRegion(op.getElseRegion())))
      return failure();
  }
  os << "}\n";
  return success();
}

LogicalResult Emitter::emitOperation(Operation *op) {
  if (isa<func::ReturnOp, memref::DeallocOp, arith::ConstantOp>(op))
    return success();
  if (auto loop = dyn_cast<affine::AffineForOp>(op))
    return emitFor(loop);
  if (auto ifOp = dyn_cast<scf::IfOp>(op))
    return emitIf(ifOp);
  if (isa<memref::AllocOp, memref::AllocaOp>(op))
    return emitAlloc(op);
  if (auto get = dyn_cast<memref::GetGlobalOp>(op)) {
    auto it = globalNames.find(get.getName());
    if (it == globalNames.end())
      return op->emitOpError("names a global the emitter has not written");
    names[get.getResult()] = it->second;
    return success();
  }
  if (isa<ViewLikeOpInterface>(op) &&
      isa<memref::MemRefDialect>(op->getDialect())) {
    auto type = cast<MemRefType>(op->getResult(0).getType());
    SmallVector<int64_t> strides;
    int64_t offset;
    if (type.hasStaticShape() && type.getNumElements() == 0)
      return success();
    if (!type.hasStaticShape() ||
        failed(type.getStridesAndOffset(strides, offset)) ||
        ShapedType::isDynamic(offset) ||
        llvm::any_of(strides, ShapedType::isDynamic))
      return op->emitOpError() << "makes the view " << type
                               << ", whose shape or layout is not static";
    return success();
  }
  if (auto load = dyn_cast<affine::AffineLoadOp>(op)) {
    FailureOr<std::string> e = element(op, load.getMemRef(), load.getAffineMap(),
                                       load.getMapOperands());
    return failed(e) ? failure() : declare(load.getResult(), *e);
  }
  if (auto store = dyn_cast<affine::AffineStoreOp>(op)) {
    FailureOr<std::string> e = element(op, store.getMemRef(),
                                       store.getAffineMap(),
                                       store.getMapOperands());
    FailureOr<std::string> v = value(store.getValueToStore());
    if (failed(e) || failed(v))
      return failure();
    os << *e << " = " << *v << ";\n";
    return success();
  }
  auto identity = [&](Value memref) {
    return AffineMap::getMultiDimIdentityMap(
        cast<MemRefType>(memref.getType()).getRank(), op->getContext());
  };
  if (auto load = dyn_cast<memref::LoadOp>(op)) {
    FailureOr<std::string> e = element(op, load.getMemRef(),
                                       identity(load.getMemRef()),
                                       load.getIndices());
    return failed(e) ? failure() : declare(load.getResult(), *e);
  }
  if (auto store = dyn_cast<memref::StoreOp>(op)) {
    FailureOr<std::string> e = element(op, store.getMemRef(),
                                       identity(store.getMemRef()),
                                       store.getIndices());
    FailureOr<std::string> v = value(store.getValueToStore());
    if (failed(e) || failed(v))
      return failure();
    os << *e << " = " << *v << ";\n";
    return success();
  }
  if (auto apply = dyn_cast<affine::AffineApplyOp>(op)) {
    AffineMap map = apply.getAffineMap();
    SmallVector<std::string> dims, symbols;
    for (auto [i, operand] : llvm::enumerate(apply.getMapOperands())) {
      FailureOr<std::string> name = value(operand);
      if (failed(name))
        return failure();
      (i < map.getNumDims() ? dims : symbols).push_back(*name);
    }
    FailureOr<std::string> e = affineExpr(map.getResult(0), dims, symbols);
    if (failed(e))
      return op->emitOpError("has an expression the emitter cannot write");
    return declare(apply.getResult(), *e);
  }
  return emitScalar(op);
}

LogicalResult Emitter::emitScalar(Operation *op) {
  if (op->getNumResults() != 1 || op->getNumRegions() != 0)
    return op->emitOpError("cannot be written as HLS C++");
  Value result = op->getResult(0);
  Type type = result.getType();
  // f16 and bf16 values are bits (llmc_half, llmc_bfloat): only conversions
  // and selects may touch them (arithmetic on them would be integer
  // arithmetic); a conversion reads such an operand as float and rounds such
  // a result from float.
  auto bitsName = [](Type t) -> const char * {
    return t.isF16() ? "half" : t.isBF16() ? "bfloat" : nullptr;
  };
  bool conversion = isa<arith::ExtFOp, arith::TruncFOp, arith::SIToFPOp,
                        arith::UIToFPOp, arith::FPToSIOp, arith::FPToUIOp>(op);
  const char *bitsIn =
      conversion ? bitsName(op->getOperand(0).getType()) : nullptr;
  const char *bitsOut = conversion ? bitsName(type) : nullptr;
  if (!conversion && !isa<arith::SelectOp>(op) &&
      (bitsName(type) || llvm::any_of(op->getOperandTypes(), bitsName)))
    return op->emitOpError("computes on 16-bit float values, which the HLS "
                           "C++ emitter writes only as bits (the HLS "
                           "pipeline computes them in f32 first)");
  SmallVector<std::string> in;
  for (Value operand : op->getOperands()) {
    FailureOr<std::string> v = value(operand);
    if (failed(v))
      return failure();
    in.push_back(*v);
  }
  if (bitsIn)
    in[0] = std::string("llmc_") + bitsIn + "_to_float(" + in[0] + ")";
  bool isDouble = !op->getOperands().empty() &&
                  op->getOperand(0).getType().isF64();
  auto fn = [&](StringRef name) {
    return (name + (isDouble ? "" : "f")).str();
  };
  auto call = [&](StringRef name) {
    std::string text = name.str() + "(";
    for (auto [i, v] : llvm::enumerate(in))
      text += (i ? ", " : "") + v;
    return text + ")";
  };
  auto binary = [&](StringRef symbol) {
    return "(" + in[0] + " " + symbol.str() + " " + in[1] + ")";
  };
  auto unsignedBinary = [&](StringRef symbol) {
    std::string u = unsignedType(op->getOperand(0).getType());
    return "((" + u + ")" + in[0] + " " + symbol.str() + " (" + u + ")" +
           in[1] + ")";
  };
  auto cast = [&](StringRef to, const std::string &v) {
    return "((" + to.str() + ")" + v + ")";
  };
  FailureOr<std::string> resultType =
      bitsOut ? FailureOr<std::string>(std::string("float"))
              : cType(type, op->getLoc());
  if (failed(resultType))
    return failure();
  std::optional<std::string> expr =
      llvm::TypeSwitch<Operation *, std::optional<std::string>>(op)
          .Case<arith::AddFOp, arith::AddIOp>(
              [&](auto) { return binary("+"); })
          .Case<arith::SubFOp, arith::SubIOp>(
              [&](auto) { return binary("-"); })
          .Case<arith::MulFOp, arith::MulIOp>(
              [&](auto) { return binary("*"); })
          .Case<arith::DivFOp, arith::DivSIOp>(
              [&](auto) { return binary("/"); })
          .Case<arith::RemSIOp>([&](auto) { return binary("%"); })
          .Case<arith::DivUIOp>([&](auto) { return unsignedBinary("/"); })
          .Case<arith::RemUIOp>([&](auto) { return unsignedBinary("%"); })
          .Case<arith::RemFOp>([&](auto) { return call(fn("fmod")); })
          .Case<arith::FloorDivSIOp>(
              [&](auto) { return call("llmc_floordiv"); })
          .Case<arith::CeilDivSIOp>([&](auto) { return call("llmc_ceildiv"); })
          .Case<arith::AndIOp>([&](auto) { return binary("&"); })
          .Case<arith::OrIOp>([&](auto) { return binary("|"); })
          .Case<arith::XOrIOp>([&](auto) { return binary("^"); })
          .Case<arith::ShLIOp>([&](auto) { return binary("<<"); })
          .Case<arith::ShRSIOp>([&](auto) { return binary(">>"); })
          .Case<arith::ShRUIOp>([&](auto) { return unsignedBinary(">>"); })
          .Case<arith::MaxSIOp>([&](auto) {
            return "(" + in[0] + " > " + in[1] + " ? " + in[0] + " : " +
                   in[1] + ")";
          })
          .Case<arith::MinSIOp>([&](auto) {
            return "(" + in[0] + " < " + in[1] + " ? " + in[0] + " : " +
                   in[1] + ")";
          })
          .Case<arith::MaxUIOp>([&](auto) {
            std::string u = unsignedType(type);
            return "((" + u + ")" + in[0] + " > (" + u + ")" + in[1] + " ? " +
                   in[0] + " : " + in[1] + ")";
          })
          .Case<arith::MinUIOp>([&](auto) {
            std::string u = unsignedType(type);
            return "((" + u + ")" + in[0] + " < (" + u + ")" + in[1] + " ? " +
                   in[0] + " : " + in[1] + ")";
          })
          .Case<arith::MaximumFOp>(
              [&](auto) { return call(isDouble ? "llmc_maximum" : "llmc_maximumf"); })
          .Case<arith::MinimumFOp>(
              [&](auto) { return call(isDouble ? "llmc_minimum" : "llmc_minimumf"); })
          .Case<arith::MaxNumFOp>([&](auto) { return call(fn("fmax")); })
          .Case<arith::MinNumFOp>([&](auto) { return call(fn("fmin")); })
          .Case<arith::NegFOp>([&](auto) { return "(-" + in[0] + ")"; })
          .Case<arith::SelectOp>([&](auto) {
            return "(" + in[0] + " ? " + in[1] + " : " + in[2] + ")";
          })
          .Case<arith::CmpFOp>([&](arith::CmpFOp cmp) -> std::optional<std::string> {
            const std::string &a = in[0], &b = in[1];
            std::string nan = "(std::isnan(" + a + ") || std::isnan(" + b + "))";
            switch (cmp.getPredicate()) {
            case arith::CmpFPredicate::AlwaysFalse: return "false";
            case arith::CmpFPredicate::AlwaysTrue: return "true";
            case arith::CmpFPredicate::OEQ: return binary("==");
            case arith::CmpFPredicate::OGT: return binary(">");
            case arith::CmpFPredicate::OGE: return binary(">=");
            case arith::CmpFPredicate::OLT: return binary("<");
            case arith::CmpFPredicate::OLE: return binary("<=");
            case arith::CmpFPredicate::ONE:
              return "(" + a + " < " + b + " || " + a + " > " + b + ")";
            case arith::CmpFPredicate::ORD: return "(!" + nan + ")";
            case arith::CmpFPredicate::UEQ:
              return "(!(" + a + " < " + b + " || " + a + " > " + b + "))";
            case arith::CmpFPredicate::UGT: return "(!(" + a + " <= " + b + "))";
            case arith::CmpFPredicate::UGE: return "(!(" + a + " < " + b + "))";
            case arith::CmpFPredicate::ULT: return "(!(" + a + " >= " + b + "))";
            case arith::CmpFPredicate::ULE: return "(!(" + a + " > " + b + "))";
            case arith::CmpFPredicate::UNE: return binary("!=");
            case arith::CmpFPredicate::UNO: return nan;
            }
            return std::nullopt;
          })
          .Case<arith::CmpIOp>([&](arith::CmpIOp cmp) -> std::optional<std::string> {
            switch (cmp.getPredicate()) {
            case arith::CmpIPredicate::eq: return binary("==");
            case arith::CmpIPredicate::ne: return binary("!=");
            case arith::CmpIPredicate::slt: return binary("<");
            case arith::CmpIPredicate::sle: return binary("<=");
            case arith::CmpIPredicate::sgt: return binary(">");
            case arith::CmpIPredicate::sge: return binary(">=");
            case arith::CmpIPredicate::ult: return unsignedBinary("<");
            case arith::CmpIPredicate::ule: return unsignedBinary("<=");
            case arith::CmpIPredicate::ugt: return unsignedBinary(">");
            case arith::CmpIPredicate::uge: return unsignedBinary(">=");
            }
            return std::nullopt;
          })
          .Case<arith::ExtFOp, arith::TruncFOp, arith::SIToFPOp,
                arith::FPToSIOp, arith::IndexCastOp, arith::ExtSIOp>(
              [&](auto) { return cast(*resultType, in[0]); })
          .Case<arith::TruncIOp>([&](auto) -> std::string {
            if (type.isInteger(1))
              return "((bool)(" + in[0] + " & 1))";
            return cast(*resultType, in[0]);
          })
          .Case<arith::ExtUIOp, arith::IndexCastUIOp, arith::UIToFPOp>(
              [&](auto) {
                return cast(*resultType,
                            cast(unsignedType(op->getOperand(0).getType()),
                                 in[0]));
              })
          .Case<arith::BitcastOp>([&](auto) -> std::optional<std::string> {
            // The bits of an f32 as i32 and back (FP8 encoding, decoding).
            Type from = op->getOperand(0).getType();
            if (from.isF32() && type.isInteger(32))
              return "((int32_t)llmc_float_bits(" + in[0] + "))";
            if (from.isInteger(32) && type.isF32())
              return "llmc_bits_float((uint32_t)" + in[0] + ")";
            return std::nullopt;
          })
          .Case<arith::FPToUIOp>([&](auto) {
            return cast(*resultType, cast(unsignedType(type), in[0]));
          })
          .Case<math::ExpOp>([&](auto) { return call(fn("exp")); })
          .Case<math::Exp2Op>([&](auto) { return call(fn("exp2")); })
          .Case<math::ExpM1Op>([&](auto) { return call(fn("expm1")); })
          .Case<math::LogOp>([&](auto) { return call(fn("log")); })
          .Case<math::Log2Op>([&](auto) { return call(fn("log2")); })
          .Case<math::Log10Op>([&](auto) { return call(fn("log10")); })
          .Case<math::Log1pOp>([&](auto) { return call(fn("log1p")); })
          .Case<math::TanhOp>([&](auto) { return call(fn("tanh")); })
          .Case<math::TanOp>([&](auto) { return call(fn("tan")); })
          .Case<math::AtanOp>([&](auto) { return call(fn("atan")); })
          .Case<math::Atan2Op>([&](auto) { return call(fn("atan2")); })
          .Case<math::ErfOp>([&](auto) { return call(fn("erf")); })
          .Case<math::SqrtOp>([&](auto) { return call(fn("sqrt")); })
          .Case<math::RsqrtOp>([&](auto) {
            return "(" + std::string(isDouble ? "1.0" : "1.0f") + " / " +
                   fn("sqrt") + "(" + in[0] + "))";
          })
          .Case<math::PowFOp>([&](auto) { return call(fn("pow")); })
          .Case<math::FPowIOp>([&](auto) {
            return fn("pow") + "(" + in[0] + ", " +
                   cast(isDouble ? "double" : "float", in[1]) + ")";
          })
          .Case<math::IPowIOp>([&](auto) {
            return cast(*resultType, "llmc_ipowi(" + in[0] + ", " + in[1] + ")");
          })
          .Case<math::AbsFOp>([&](auto) { return call(fn("fabs")); })
          .Case<math::AbsIOp>([&](auto) {
            return "(" + in[0] + " < 0 ? -" + in[0] + " : " + in[0] + ")";
          })
          .Case<math::FloorOp>([&](auto) { return call(fn("floor")); })
          .Case<math::CeilOp>([&](auto) { return call(fn("ceil")); })
          .Case<math::TruncOp>([&](auto) { return call(fn("trunc")); })
          .Case<math::RoundOp>([&](auto) { return call(fn("round")); })
          .Case<math::RoundEvenOp>([&](auto) { return call(fn("rint")); })
          .Case<math::SinOp>([&](auto) { return call(fn("sin")); })
          .Case<math::CosOp>([&](auto) { return call(fn("cos")); })
          .Case<math::CopySignOp>([&](auto) { return call(fn("copysign")); })
          .Case<math::FmaOp>([&](auto) { return call(fn("fma")); })
          .Default([](Operation *) { return std::nullopt; });
  if (!expr)
    return op->emitOpError("cannot be written as HLS C++ (not in the "
                           "emitter's synthesizable subset)");
  if (bitsOut)
    return declare(result,
                   std::string("llmc_float_to_") + bitsOut + "(" + *expr + ")");
  return declare(result, *expr);
}

constexpr const char *kPrelude = R"cpp(#include <cmath>
#include <cstdint>

// A float's bits and back (arith.bitcast).
static inline uint32_t llmc_float_bits(float f) {
  union { float f; uint32_t u; } pun;
  pun.f = f;
  return pun.u;
}
static inline float llmc_bits_float(uint32_t u) {
  union { uint32_t u; float f; } pun;
  pun.u = u;
  return pun.f;
}

// IEEE binary16, stored as its bits; converted exactly to float, and from
// float rounded to nearest even (as arith.extf and arith.truncf).
typedef uint16_t llmc_half;
static inline float llmc_half_to_float(llmc_half h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exponent = (h >> 10) & 0x1f,
           mantissa = h & 0x3ffu, bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    // Subnormal: normalize.
    int shift = 0;
    llmc_half_normalize: for (int64_t i = 0; i < 10; i += 1) {
#pragma HLS PIPELINE II=1
      if (!(mantissa & 0x400u)) {
        mantissa <<= 1;
        ++shift;
      }
    }
    bits = sign | ((uint32_t)(113 - shift) << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return llmc_bits_float(bits);
}
static inline llmc_half llmc_float_to_half(float f) {
  uint32_t bits = llmc_float_bits(f);
  uint32_t sign = (bits >> 16) & 0x8000u, exponent = (bits >> 23) & 0xffu,
           mantissa = bits & 0x7fffffu;
  if (exponent == 0xff) // inf or NaN (a quiet NaN stays NaN)
    return (llmc_half)(sign | 0x7c00u | (mantissa ? 0x200u | (mantissa >> 13) : 0));
  int32_t e = (int32_t)exponent - 112; // f16 biased exponent
  if (e >= 0x1f)
    return (llmc_half)(sign | 0x7c00u); // overflow: inf
  uint32_t full = mantissa | 0x800000u;
  uint32_t shift = e > 0 ? 13 : (uint32_t)(14 - e); // subnormals shift more
  if (shift > 24)
    return (llmc_half)sign; // below half the smallest subnormal
  uint32_t kept = full >> shift, rest = full & ((1u << shift) - 1),
           half = 1u << (shift - 1);
  if (rest > half || (rest == half && (kept & 1)))
    ++kept; // may carry into the exponent, as it should
  if (e > 0)
    return (llmc_half)(sign | (((uint32_t)e << 10) + (kept & 0x3ffu) +
                               ((kept >> 10) - 1) * 0x400u));
  return (llmc_half)(sign | kept);
}

// bfloat16, stored as its bits (the high half of a float's); converted
// exactly to float, and from float rounded to nearest even.
typedef uint16_t llmc_bfloat;
static inline float llmc_bfloat_to_float(llmc_bfloat b) {
  return llmc_bits_float((uint32_t)b << 16);
}
static inline llmc_bfloat llmc_float_to_bfloat(float f) {
  uint32_t bits = llmc_float_bits(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u) // NaN stays a quiet NaN
    return (llmc_bfloat)((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return (llmc_bfloat)(bits >> 16);
}

// Helpers with the semantics of the arith and math ops they stand for.
static inline float llmc_maximumf(float a, float b) {
  return a > b ? a : (b > a ? b : (a == b ? (std::signbit(a) ? b : a) : NAN));
}
static inline float llmc_minimumf(float a, float b) {
  return a < b ? a : (b < a ? b : (a == b ? (std::signbit(a) ? a : b) : NAN));
}
static inline double llmc_maximum(double a, double b) {
  return a > b ? a : (b > a ? b : (a == b ? (std::signbit(a) ? b : a) : (double)NAN));
}
static inline double llmc_minimum(double a, double b) {
  return a < b ? a : (b < a ? b : (a == b ? (std::signbit(a) ? a : b) : (double)NAN));
}
static inline int64_t llmc_floordiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
static inline int64_t llmc_ceildiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) == (b < 0))) ? q + 1 : q;
}
static inline int64_t llmc_mod(int64_t a, int64_t b) {
  int64_t r = a % b;
  return r < 0 ? r + (b < 0 ? -b : b) : r;
}
static inline int64_t llmc_ipowi(int64_t base, int64_t exponent) {
  if (exponent < 0)
    return base == 1 ? 1 : (base == -1 ? ((exponent & 1) ? -1 : 1) : 0);
  uint64_t result = 1, factor = (uint64_t)base, e = (uint64_t)exponent;
  llmc_ipowi_bits: for (int64_t bit = 0; bit < 64; bit += 1) {
#pragma HLS PIPELINE II=1
    if (e & 1)
      result *= factor;
    factor *= factor;
    e >>= 1;
  }
  return (int64_t)result;
}
)cpp";

LogicalResult Emitter::emitModule(ModuleOp module) {
  os << "// HLS C++ kernel generated by llmc (llm-translate --emit-hls-cpp).\n"
     << "// Vitis HLS style: fixed-size arrays, static loop bounds, no dynamic\n"
     << "// allocation; ports are m_axi on HBM pseudo channels. Math comes from\n"
     << "// <cmath> (expf, tanhf, erff, sqrtf), which Vitis HLS maps to its\n"
     << "// hls_math library; C-simulation uses the host's libm.\n";
  if (auto target = module->getAttrOfType<StringAttr>("hls.target"))
    os << "// Scheduled for the FPGA description '" << target.getValue()
       << "'.\n";
  os << kPrelude;
  bool any = false;
  for (Operation &op : module.getBody()->getOperations()) {
    if (auto global = dyn_cast<memref::GlobalOp>(op)) {
      if (!any)
        os << "\n// Constants of the model (read-only memories).\n";
      any = true;
      if (failed(emitGlobal(global)))
        return failure();
    }
  }
  FailureOr<func::FuncOp> top = llmc::hlsTopFunction(module);
  if (failed(top))
    return failure();
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal())
      return func.emitError() << "@" << func.getName()
                              << " is external; an HLS kernel cannot call "
                                 "functions it does not define";
    if (func != *top)
      return func.emitError() << "@" << func.getName()
                              << " is a second function; the HLS emitter "
                                 "writes one top function per model";
  }
  return emitFunction(*top);
}
} // namespace

FailureOr<func::FuncOp> llmc::hlsTopFunction(ModuleOp module) {
  func::FuncOp top;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal() || !func.isPublic())
      continue;
    if (top)
      return module.emitError() << "the module has two public functions, @"
                                << top.getName() << " and @" << func.getName()
                                << "; an HLS kernel has one top function";
    top = func;
  }
  if (!top)
    return module.emitError("the module has no public function to emit as "
                            "the HLS top function");
  return top;
}

LogicalResult llmc::emitHLSCpp(ModuleOp module, raw_ostream &os) {
  Emitter emitter(os);
  return emitter.emitModule(module);
}

FailureOr<std::string> llmc::hlsKernelPrototype(func::FuncOp func) {
  std::string ignored;
  llvm::raw_string_ostream os(ignored);
  Emitter emitter(os);
  return emitter.prototype(func);
}
