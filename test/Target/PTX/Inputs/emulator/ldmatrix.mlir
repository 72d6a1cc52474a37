// A 16x16 f16 matrix X (x[0:256], row-major) into shared memory, then one
// ldmatrix.x4 and one ldmatrix.x4.trans per warp: lane l gives the address
// of row l % 16, column 8 (l / 16) (matrices (rows 0-7, cols 0-7), (8-15,
// 0-7), (0-7, 8-15), (8-15, 8-15)). y[8l + 2j + h] is half h of register j
// of lane l; y[256 + 8l + 2j + h] the same of the transposed load.
gpu.module @llm_kernels {
  gpu.func @k(%in: memref<512xf32>, %out: memref<512xf32>) workgroup(%tile: memref<16x16xf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel attributes {known_block_size = array<i32: 32, 1, 1>} {
    %l = gpu.thread_id x
    %c2 = arith.constant 2 : index
    %c8 = arith.constant 8 : index
    %c16 = arith.constant 16 : index
    %c256 = arith.constant 256 : index
    // Lane l writes X[l / 2][8 (l % 2) .. + 7].
    %row = arith.divui %l, %c2 : index
    %half = arith.remui %l, %c2 : index
    %col = arith.muli %half, %c8 : index
    %src = arith.addi %col, %row : index
    %base = arith.muli %row, %c16 : index
    %first = arith.addi %base, %col : index
    %v = vector.load %in[%first] : memref<512xf32>, vector<8xf32>
    %h = arith.truncf %v : vector<8xf32> to vector<8xf16>
    vector.store %h, %tile[%row, %col] : memref<16x16xf16, #gpu.address_space<workgroup>>, vector<8xf16>
    gpu.barrier
    %lr = arith.remui %l, %c16 : index
    %lq = arith.divui %l, %c16 : index
    %lc = arith.muli %lq, %c8 : index
    %e0 = arith.muli %lr, %c16 : index
    %e1 = arith.addi %e0, %lc : index
    %bytes = arith.muli %e1, %c2 : index
    %p0 = memref.extract_aligned_pointer_as_index %tile : memref<16x16xf16, #gpu.address_space<workgroup>> -> index
    %a0 = arith.addi %p0, %bytes : index
    %a64 = arith.index_cast %a0 : index to i64
    %ptr = llvm.inttoptr %a64 : i64 to !llvm.ptr<3>
    %r = nvvm.ldmatrix %ptr {num = 4 : i32, layout = #nvvm.mma_layout<row>, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>, eltType = #nvvm.ld_st_matrix_elt_type<b16>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32, i32, i32)>
    %t = nvvm.ldmatrix %ptr {num = 4 : i32, layout = #nvvm.mma_layout<col>, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>, eltType = #nvvm.ld_st_matrix_elt_type<b16>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32, i32, i32)>
    %o0 = arith.muli %l, %c8 : index
    %o1 = arith.addi %o0, %c256 : index
    %r0 = llvm.extractvalue %r[0] : !llvm.struct<(i32, i32, i32, i32)>
    %r1 = llvm.extractvalue %r[1] : !llvm.struct<(i32, i32, i32, i32)>
    %r2 = llvm.extractvalue %r[2] : !llvm.struct<(i32, i32, i32, i32)>
    %r3 = llvm.extractvalue %r[3] : !llvm.struct<(i32, i32, i32, i32)>
    %rv = vector.from_elements %r0, %r1, %r2, %r3 : vector<4xi32>
    %rh = vector.bitcast %rv : vector<4xi32> to vector<8xf16>
    %rf = arith.extf %rh : vector<8xf16> to vector<8xf32>
    vector.store %rf, %out[%o0] : memref<512xf32>, vector<8xf32>
    %t0 = llvm.extractvalue %t[0] : !llvm.struct<(i32, i32, i32, i32)>
    %t1 = llvm.extractvalue %t[1] : !llvm.struct<(i32, i32, i32, i32)>
    %t2 = llvm.extractvalue %t[2] : !llvm.struct<(i32, i32, i32, i32)>
    %t3 = llvm.extractvalue %t[3] : !llvm.struct<(i32, i32, i32, i32)>
    %tv = vector.from_elements %t0, %t1, %t2, %t3 : vector<4xi32>
    %th = vector.bitcast %tv : vector<4xi32> to vector<8xf16>
    %tf = arith.extf %th : vector<8xf16> to vector<8xf32>
    vector.store %tf, %out[%o1] : memref<512xf32>, vector<8xf32>
    gpu.return
  }
}
