//===- NPUOps.td - one op per NPU instruction --------------*- tablegen -*-===//
#ifndef NPU_OPS_TD
#define NPU_OPS_TD

include "npu/IR/NPUDialect.td"
include "mlir/IR/BuiltinAttributes.td"

def NPU_ProgramOp : NPU_Op<"program", [NoTerminator, SingleBlock,
                                       IsolatedFromAbove]> {
  let summary = "an NPU program: its tensors and its instruction stream";
  let description = [{
    `target` names the description (bundled name or JSON path) whose sizes the
    instructions are checked against; `dram` is the size of the DRAM the
    program addresses. The body holds `npu.tensor` declarations and the
    instructions in stream order.

    ```mlir
    npu.program target("npu") dram(4096) {
      npu.tensor input "A" : "i8" [32, 32] at 0
      npu.ld sp = 0x0 dram = 0x0 rows = 32 cols = 32 stride = 32 signal_next
    }
    ```
  }];
  let arguments = (ins StrAttr:$target, I64Attr:$dram);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat =
      "`target` `(` $target `)` `dram` `(` $dram `)` attr-dict-with-keyword $body";
  let hasRegionVerifier = 1;
}

def NPU_TensorOp : NPU_Op<"tensor", [HasParent<"ProgramOp">]> {
  let summary = "a tensor the program reads (input) or writes (output) in DRAM";
  let arguments = (ins StrAttr:$role, StrAttr:$tensor_name, StrAttr:$elem_type,
                       DenseI64ArrayAttr:$shape, I64Attr:$dram);
  let assemblyFormat =
      "$role $tensor_name `:` $elem_type $shape `at` $dram attr-dict";
  let hasVerifier = 1;
}

/// An instruction: its own fields plus the four dependency-token flags. The
/// syntax is the assembly's (`key = value` fields, then flags); parsing,
/// printing and verification are shared by all instructions (NPUOps.cpp).
class NPU_InstOp<string mnemonic, string summaryText, dag fields>
    : NPU_Op<mnemonic, [HasParent<"ProgramOp">]> {
  let summary = summaryText;
  let arguments = !con(fields, (ins UnitAttr:$wait_prev, UnitAttr:$wait_next,
                                    UnitAttr:$signal_prev,
                                    UnitAttr:$signal_next));
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
  let extraClassDefinition = [{
    ::mlir::ParseResult $cppClass::parse(::mlir::OpAsmParser &parser,
                                         ::mlir::OperationState &result) {
      return ::mlir::npu::parseInstructionOp(parser, result);
    }
    void $cppClass::print(::mlir::OpAsmPrinter &printer) {
      ::mlir::npu::printInstructionOp(printer, getOperation());
    }
    ::llvm::LogicalResult $cppClass::verify() {
      return ::mlir::npu::verifyInstructionOp(getOperation());
    }
  }];
}

class NPU_DmaOp<string mnemonic, string summaryText, string local>
    : NPU_InstOp<mnemonic, summaryText,
                 !dag(ins, [I64Attr, I64Attr, I64Attr, I64Attr, I64Attr],
                      [local, "dram", "rows", "cols", "stride"])>;

def NPU_LdOp : NPU_DmaOp<"ld", "DMA rows x cols bytes DRAM -> scratchpad", "sp">;
def NPU_LdaOp : NPU_DmaOp<"lda", "DMA rows x cols words DRAM -> accumulators", "acc">;
def NPU_StOp : NPU_DmaOp<"st", "DMA rows x cols bytes scratchpad -> DRAM", "sp">;
def NPU_StaOp : NPU_DmaOp<"sta", "DMA rows x cols words accumulators -> DRAM", "acc">;

def NPU_SetrOp : NPU_InstOp<"setr", "set a vector scalar register",
                            (ins I64Attr:$reg, F32Attr:$value)>;

def NPU_LdwOp : NPU_InstOp<"ldw", "load a k x n int8 weight tile into the array",
                           (ins I64Attr:$sp, I64Attr:$k, I64Attr:$n,
                                I64Attr:$stride)>;

def NPU_MmOp : NPU_InstOp<"mm",
    "stream m activation rows through the array into int32 accumulators",
    (ins I64Attr:$sp, I64Attr:$acc, I64Attr:$m, I64Attr:$sp_stride,
         I64Attr:$acc_stride, UnitAttr:$accumulate, UnitAttr:$lhs_unsigned)>;

class NPU_VectorOp<string mnemonic, string summaryText, dag extra>
    : NPU_InstOp<mnemonic, summaryText,
                 !con((ins I64Attr:$dst, I64Attr:$src, I64Attr:$rows,
                           I64Attr:$cols), extra)>;
defvar NoExtra = (ins);
defvar ScaleZero = (ins I64Attr:$ra, I64Attr:$rb);
defvar Binary = (ins I64Attr:$src2, UnitAttr:$broadcast);

def NPU_VreqOp : NPU_VectorOp<"vreq", "requantize i32 accumulators to i8: sat(roundeven(x * ra) + rb)", ScaleZero>;
def NPU_VdeqOp : NPU_VectorOp<"vdeq", "dequantize i32 accumulators to f32: x * ra", (ins I64Attr:$ra)>;
def NPU_VqntOp : NPU_VectorOp<"vqnt", "quantize f32 to i8 as llm.quantize: sat(roundeven(x / ra) + rb)", ScaleZero>;
def NPU_VwidOp : NPU_VectorOp<"vwid", "widen i8 scratchpad values to i32 accumulators", NoExtra>;
def NPU_VaddOp : NPU_VectorOp<"vadd", "f32 add (src2 one row if broadcast)", Binary>;
def NPU_VmulOp : NPU_VectorOp<"vmul", "f32 multiply (src2 one row if broadcast)", Binary>;
def NPU_VsclOp : NPU_VectorOp<"vscl", "f32 x * ra + rb (fused)", ScaleZero>;
def NPU_VexpOp : NPU_VectorOp<"vexp", "f32 exp", NoExtra>;
def NPU_VgeluOp : NPU_VectorOp<"vgelu", "f32 GELU (erf form)", NoExtra>;
def NPU_VsiluOp : NPU_VectorOp<"vsilu", "f32 SiLU", NoExtra>;
def NPU_VsmaxOp : NPU_VectorOp<"vsmax", "f32 softmax along each row", NoExtra>;
def NPU_VlnrmOp : NPU_VectorOp<"vlnrm", "f32 layer norm along each row, eps in ra", (ins I64Attr:$ra)>;
def NPU_VaddiOp : NPU_VectorOp<"vaddi", "i32 add, wrapping (src2 one row if broadcast)", Binary>;
def NPU_VrmsOp : NPU_VectorOp<"vrms", "f32 RMS norm along each row, eps in ra", (ins I64Attr:$ra)>;

#endif // NPU_OPS_TD
