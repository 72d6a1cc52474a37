//===- HostOutlineLoops.cpp - one function per distinct loop nest ---------===//
//
// The host entry is one function with a loop nest per linalg op. A model's
// layers repeat the same nests on other buffers, and LLVM optimized and
// compiled each copy: GPT-2 small's 12 layers, 12 times the same code. This
// pass outlines every top-level loop nest into a private function of the
// buffers it reads and writes, then keeps one function per distinct nest
// and calls it from each place.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"

namespace llmc {
#define GEN_PASS_DEF_LLMHOSTOUTLINELOOPS
#include "Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {

/// The values `op` uses that are defined outside it: its operands, then
/// what its regions use from above, in the order of first use.
llvm::SetVector<Value> capturedValues(Operation *op) {
  llvm::SetVector<Value> values;
  values.insert(op->operand_begin(), op->operand_end());
  getUsedValuesDefinedAbove(op->getRegions(), values);
  return values;
}

bool isConstant(Value value) {
  Operation *def = value.getDefiningOp();
  return def && def->hasTrait<OpTrait::ConstantLike>() &&
         def->getNumResults() == 1 && def->getNumRegions() == 0;
}

/// Moves `loop` into a new private function `name` of the values it
/// captures (constants are copied in, so the nest keeps its constant bounds)
/// and calls that function in its place.
func::FuncOp outline(Operation *loop, StringRef name, SymbolTable &symbols) {
  llvm::SetVector<Value> captured = capturedValues(loop);
  SmallVector<Value> arguments;
  SmallVector<Type> argumentTypes;
  for (Value value : captured)
    if (!isConstant(value)) {
      arguments.push_back(value);
      argumentTypes.push_back(value.getType());
    }

  MLIRContext *ctx = loop->getContext();
  Location loc = loop->getLoc();
  OpBuilder b(ctx);
  auto func =
      func::FuncOp::create(b, loc, name, b.getFunctionType(argumentTypes, {}));
  func.setPrivate();
  // One call per nest costs nothing next to the nest; inlined, each copy
  // would be compiled again.
  func->setAttr("passthrough", b.getArrayAttr({b.getStringAttr("noinline")}));
  // Internal: the execution engine wraps every function of external linkage
  // for packed calls, and only the entry's C wrapper is called.
  func->setAttr("llvm.linkage",
                LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal));
  symbols.insert(func, Block::iterator(loop->getParentOfType<func::FuncOp>()));

  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);
  IRMapping mapping;
  for (auto [value, argument] : llvm::zip(arguments, body->getArguments()))
    mapping.map(value, argument);
  for (Value value : captured)
    if (isConstant(value))
      mapping.map(value, b.clone(*value.getDefiningOp())->getResult(0));
  b.clone(*loop, mapping);
  func::ReturnOp::create(b, loc);

  b.setInsertionPoint(loop);
  func::CallOp::create(b, loc, func, arguments);
  loop->erase();
  return func;
}

struct HostOutlineLoopsPass
    : llmc::impl::LLMHostOutlineLoopsBase<HostOutlineLoopsPass> {
  using LLMHostOutlineLoopsBase::LLMHostOutlineLoopsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> callers(llvm::make_filter_range(
        module.getOps<func::FuncOp>(),
        [](func::FuncOp func) { return !func.isExternal(); }));
    SmallVector<func::FuncOp> outlined;
    for (func::FuncOp caller : callers) {
      SmallVector<Operation *> loops;
      for (Operation &op : caller.getBody().getOps())
        // A loop that yields values (scf.for's iter_args) stays: the
        // function would have to return them.
        if (isa<scf::ForOp, scf::ParallelOp>(op) && op.getNumResults() == 0)
          loops.push_back(&op);
      for (auto [i, loop] : llvm::enumerate(loops))
        outlined.push_back(outline(
            loop, (caller.getSymName() + "_loop" + Twine(i)).str(), symbols));
    }
    if (!dedup)
      return;

    // A function's text in generic form under a placeholder name: equal
    // texts are equal nests of loops on buffers of the same types.
    OpPrintingFlags flags;
    flags.printGenericOpForm().useLocalScope();
    llvm::StringMap<func::FuncOp> firstOf;
    llvm::DenseMap<StringAttr, FlatSymbolRefAttr> keptFor;
    for (func::FuncOp func : outlined) {
      StringAttr name = func.getSymNameAttr();
      func.setSymName("llmc_loop");
      std::string text;
      llvm::raw_string_ostream os(text);
      func->print(os, flags);
      func.setSymNameAttr(name);
      auto [it, inserted] = firstOf.try_emplace(text, func);
      if (!inserted)
        keptFor[name] = FlatSymbolRefAttr::get(it->second.getSymNameAttr());
    }
    // The outlined functions are called only from where they were made.
    for (func::FuncOp caller : callers)
      caller.walk([&](func::CallOp call) {
        auto kept = keptFor.find(call.getCalleeAttr().getAttr());
        if (kept != keptFor.end())
          call.setCalleeAttr(kept->second);
      });
    for (func::FuncOp func : outlined)
      if (keptFor.contains(func.getSymNameAttr()))
        func.erase();
  }
};

} // namespace
