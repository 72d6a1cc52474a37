//===- NPUOps.cpp - the npu dialect: syntax, verifiers, Program <-> IR ----===//
//
// Every instruction op shares one syntax (the assembly's fields and flags),
// one verifier (llmc::npu::validate against the program's target description)
// and one mapping to llmc::npu::Instruction, all driven by the field tables
// of llmc/Target/NPU/ISA.h, so the dialect, the assembler and the simulator
// cannot disagree about an instruction.
//
//===----------------------------------------------------------------------===//
#include "npu/IR/NPUOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/StringExtras.h"

#include <cstring>

using namespace mlir;
using namespace mlir::npu;
namespace isa = llmc::npu;

#include "npu/IR/NPUDialect.cpp.inc"

void NPUDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "npu/IR/NPUOps.cpp.inc"
      >();
}

namespace {
const isa::OpcodeInfo *opcodeOf(OperationName name) {
  if (name.getDialectNamespace() != "npu")
    return nullptr;
  return isa::lookupMnemonic(name.stripDialect());
}

/// The description an instruction is checked against, loaded once per name.
FailureOr<isa::Config> configFor(Operation *op, ProgramOp program) {
  llvm::Expected<isa::Config> config = isa::Config::load(program.getTarget());
  if (!config)
    return op->emitOpError() << llvm::toString(config.takeError());
  return *config;
}
} // namespace

bool mlir::npu::isInstructionOp(Operation *op) {
  return opcodeOf(op->getName()) != nullptr;
}

ParseResult mlir::npu::parseInstructionOp(OpAsmParser &parser,
                                          OperationState &result) {
  const isa::OpcodeInfo *info = opcodeOf(result.name);
  if (!info)
    return parser.emitError(parser.getCurrentLocation(), "not an instruction");
  Builder &builder = parser.getBuilder();
  llvm::SmallVector<isa::InstructionField> fields = isa::instructionFields(*info);
  llvm::SmallVector<isa::InstructionFlag> flags = isa::instructionFlags(*info);
  // Only the instruction's own keys: a bare `npu.x` on the next line is the
  // next op, not a field.
  llvm::SmallVector<StringRef> keys;
  for (const isa::InstructionField &field : fields)
    keys.push_back(field.key);
  for (const isa::InstructionFlag &flag : flags)
    keys.push_back(flag.key);
  for (const isa::InstructionFlag &flag : isa::tokenFlags())
    if (!llvm::is_contained(keys, flag.key))
      keys.push_back(flag.key);
  if (info->format == isa::Format::SetReg)
    keys.push_back("value");
  StringRef key;
  while (succeeded(parser.parseOptionalKeyword(&key, keys))) {
    if (result.attributes.get(key))
      return parser.emitError(parser.getCurrentLocation())
             << "'" << key << "' given twice";
    if (llvm::any_of(isa::tokenFlags(),
                     [&](const isa::InstructionFlag &f) { return f.key == key; }) ||
        llvm::any_of(flags, [&](const isa::InstructionFlag &f) {
          return f.key == key;
        })) {
      result.addAttribute(key, builder.getUnitAttr());
      continue;
    }
    if (info->format == isa::Format::SetReg && key == "value") {
      double value;
      if (parser.parseEqual() || parser.parseFloat(value))
        return failure();
      result.addAttribute(key, builder.getF32FloatAttr(value));
      continue;
    }
    if (llvm::none_of(fields, [&](const isa::InstructionField &f) {
          return f.key == key;
        }))
      return parser.emitError(parser.getCurrentLocation())
             << "unknown field or flag '" << key << "' of npu."
             << info->mnemonic;
    int64_t value = 0;
    if (parser.parseEqual() || parser.parseInteger(value))
      return failure();
    result.addAttribute(key, builder.getI64IntegerAttr(value));
  }
  return parser.parseOptionalAttrDict(result.attributes);
}

void mlir::npu::printInstructionOp(OpAsmPrinter &printer, Operation *op) {
  const isa::OpcodeInfo *info = opcodeOf(op->getName());
  llvm::SmallVector<StringRef> printed;
  for (const isa::InstructionField &field : isa::instructionFields(*info)) {
    printed.push_back(field.key);
    auto attr = op->getAttrOfType<IntegerAttr>(field.key);
    if (!attr)
      continue;
    printer << ' ' << field.key << " = ";
    int64_t value = attr.getInt();
    if (field.isAddress && value >= 0)
      printer << "0x" << llvm::utohexstr(value, /*LowerCase=*/true);
    else
      printer << value;
  }
  if (info->format == isa::Format::SetReg) {
    printed.push_back("value");
    if (auto attr = op->getAttrOfType<FloatAttr>("value")) {
      printer << " value = ";
      printer.printFloat(attr.getValue());
    }
  }
  for (const isa::InstructionFlag &flag : isa::instructionFlags(*info)) {
    printed.push_back(flag.key);
    if (op->hasAttr(flag.key))
      printer << ' ' << flag.key;
  }
  // Token flags the queue does not allow are printed too, so that the
  // verifier's complaint about them survives a round trip.
  for (const isa::InstructionFlag &flag : isa::tokenFlags())
    if (!llvm::is_contained(printed, flag.key)) {
      printed.push_back(flag.key);
      if (op->hasAttr(flag.key))
        printer << ' ' << flag.key;
    }
  printer.printOptionalAttrDict(op->getAttrs(), printed);
}

FailureOr<isa::Instruction> mlir::npu::toInstruction(Operation *op) {
  const isa::OpcodeInfo *info = opcodeOf(op->getName());
  if (!info)
    return op->emitOpError() << "is not an NPU instruction";
  isa::Instruction inst;
  inst.opcode = info->opcode;
  for (const isa::InstructionField &field : isa::instructionFields(*info)) {
    auto attr = op->getAttrOfType<IntegerAttr>(field.key);
    if (!attr)
      return op->emitOpError() << "needs field '" << field.key << "'";
    int64_t value = attr.getInt();
    uint64_t maximum = field.wide ? (uint64_t(1) << 40) - 1 : 0xffffffffu;
    if (value < 0 || uint64_t(value) > maximum)
      return op->emitOpError()
             << "field '" << field.key << "' (" << value
             << ") does not fit its encoding";
    field.set(inst, static_cast<uint64_t>(value));
  }
  if (info->format == isa::Format::SetReg) {
    auto attr = op->getAttrOfType<FloatAttr>("value");
    if (!attr || !attr.getType().isF32())
      return op->emitOpError() << "needs an f32 'value'";
    inst.bits = static_cast<uint32_t>(
        attr.getValue().bitcastToAPInt().getZExtValue());
  }
  for (const isa::InstructionFlag &flag : isa::instructionFlags(*info))
    inst.*flag.member = op->hasAttr(flag.key);
  for (const isa::InstructionFlag &flag : isa::tokenFlags())
    if (op->hasAttr(flag.key))
      inst.*flag.member = true;
  return inst;
}

Operation *mlir::npu::createInstructionOp(OpBuilder &builder, Location loc,
                                          const isa::Instruction &inst) {
  const isa::OpcodeInfo &info = isa::info(inst.opcode);
  OperationState state(loc, ("npu." + info.mnemonic).str());
  for (const isa::InstructionField &field : isa::instructionFields(info))
    state.addAttribute(field.key, builder.getI64IntegerAttr(
                                      static_cast<int64_t>(field.get(inst))));
  if (info.format == isa::Format::SetReg) {
    llvm::APFloat value(llvm::APFloat::IEEEsingle(),
                        llvm::APInt(32, inst.bits));
    state.addAttribute("value", builder.getFloatAttr(builder.getF32Type(), value));
  }
  for (const isa::InstructionFlag &flag : isa::instructionFlags(info))
    if (inst.*flag.member)
      state.addAttribute(flag.key, builder.getUnitAttr());
  return builder.create(state);
}

LogicalResult mlir::npu::verifyInstructionOp(Operation *op) {
  auto program = op->getParentOfType<ProgramOp>();
  if (!program)
    return op->emitOpError() << "must be inside npu.program";
  FailureOr<isa::Instruction> inst = toInstruction(op);
  if (failed(inst))
    return failure();
  FailureOr<isa::Config> config = configFor(op, program);
  if (failed(config))
    return failure();
  // An MM uses the weights of the last LDW before it in the stream: the exec
  // queue runs in order.
  std::optional<std::pair<uint32_t, uint32_t>> weights;
  if (inst->opcode == isa::Opcode::MM)
    for (Operation *prev = op->getPrevNode(); prev; prev = prev->getPrevNode())
      if (auto ldw = dyn_cast<LdwOp>(prev)) {
        weights = {static_cast<uint32_t>(ldw.getK()),
                   static_cast<uint32_t>(ldw.getN())};
        break;
      }
  // The attribute is unsigned: a negative size in the IR reads as huge.
  int64_t signedDram = static_cast<int64_t>(program.getDram());
  uint64_t dram = signedDram < 0 ? 0 : program.getDram();
  if (llvm::Error error = isa::validate(*inst, *config, dram, weights)) {
    std::string message = llvm::toString(std::move(error));
    // validate() prefixes the mnemonic; the op's name says it already.
    StringRef text(message);
    text.consume_front((isa::info(inst->opcode).mnemonic + ": ").str());
    return op->emitOpError() << text;
  }
  return success();
}

LogicalResult TensorOp::verify() {
  if (getRole() != "input" && getRole() != "output")
    return emitOpError() << "role must be \"input\" or \"output\", not \""
                         << getRole() << "\"";
  if (!isa::elemTypeFromName(getElemType()))
    return emitOpError() << "element type must be \"i8\", \"i32\" or \"f32\", "
                            "not \""
                         << getElemType() << "\"";
  if (getTensorName().empty())
    return emitOpError() << "needs a name";
  for (int64_t dim : getShape())
    if (dim <= 0)
      return emitOpError() << "dimensions must be positive";
  if (static_cast<int64_t>(getDram()) < 0)
    return emitOpError() << "address must not be negative";
  return success();
}

FailureOr<isa::Program> mlir::npu::toProgram(ProgramOp program) {
  isa::Program result;
  result.target = program.getTarget().str();
  if (static_cast<int64_t>(program.getDram()) < 0)
    return program.emitOpError() << "dram size must not be negative";
  result.dramBytes = program.getDram();
  for (Operation &op : program.getBody().front()) {
    if (auto tensor = dyn_cast<TensorOp>(op)) {
      isa::TensorBinding binding;
      binding.name = tensor.getTensorName().str();
      binding.isOutput = tensor.getRole() == "output";
      binding.type = *isa::elemTypeFromName(tensor.getElemType());
      binding.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
      binding.dram = tensor.getDram();
      result.tensors.push_back(std::move(binding));
      continue;
    }
    FailureOr<isa::Instruction> inst = toInstruction(&op);
    if (failed(inst))
      return failure();
    result.code.push_back(*inst);
  }
  return result;
}

LogicalResult ProgramOp::verifyRegions() {
  FailureOr<isa::Program> program = toProgram(*this);
  if (failed(program))
    return failure();
  llvm::Expected<isa::Config> config = isa::Config::load(getTarget());
  if (!config)
    return emitOpError() << llvm::toString(config.takeError());
  int64_t index;
  if (llvm::Error error = isa::validate(*program, *config, &index)) {
    if (index >= 0) // the instruction's own verifier has said it already
      return failure();
    return emitOpError() << llvm::toString(std::move(error));
  }
  return success();
}

OwningOpRef<ModuleOp> mlir::npu::fromProgram(const isa::Program &program,
                                             MLIRContext *context) {
  context->getOrLoadDialect<NPUDialect>();
  OpBuilder builder(context);
  Location loc = UnknownLoc::get(context);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  builder.setInsertionPointToEnd(module->getBody());
  auto op = ProgramOp::create(builder, loc, program.target,
                              static_cast<int64_t>(program.dramBytes));
  Block *body = &op.getBody().emplaceBlock();
  builder.setInsertionPointToEnd(body);
  for (const isa::TensorBinding &tensor : program.tensors)
    TensorOp::create(builder, loc, tensor.isOutput ? "output" : "input",
                     tensor.name, isa::elemTypeName(tensor.type),
                     tensor.shape, static_cast<int64_t>(tensor.dram));
  for (const isa::Instruction &inst : program.code)
    createInstructionOp(builder, loc, inst);
  return module;
}

#define GET_OP_CLASSES
#include "npu/IR/NPUOps.cpp.inc"
