// cp.async: thread t copies 16 bytes, x[4 (t % 16) ..] -> tile[4t ..]; the
// upper 16 threads give source size 8, so the last two floats of their
// copies are zero. After the wait and a barrier, y[4t ..] = tile[4 ((t + 1)
// % 32) ..]: a copy that another thread issued.
gpu.module @llm_kernels {
  gpu.func @k(%in: memref<128xf32>, %out: memref<128xf32>) workgroup(%tile: memref<128xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel attributes {known_block_size = array<i32: 32, 1, 1>} {
    %t = gpu.thread_id x
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %c16 = arith.constant 16 : index
    %c32 = arith.constant 32 : index
    %full = arith.constant 16 : i32
    %half = arith.constant 8 : i32
    %low = arith.remui %t, %c16 : index
    %s0 = arith.muli %low, %c16 : index
    %g = memref.extract_aligned_pointer_as_index %in : memref<128xf32> -> index
    %s1 = arith.addi %g, %s0 : index
    %s2 = arith.index_cast %s1 : index to i64
    %s3 = llvm.inttoptr %s2 : i64 to !llvm.ptr
    %src = llvm.addrspacecast %s3 : !llvm.ptr to !llvm.ptr<1>
    %d0 = arith.muli %t, %c16 : index
    %sh = memref.extract_aligned_pointer_as_index %tile : memref<128xf32, #gpu.address_space<workgroup>> -> index
    %d1 = arith.addi %sh, %d0 : index
    %d2 = arith.index_cast %d1 : index to i64
    %dst = llvm.inttoptr %d2 : i64 to !llvm.ptr<3>
    %upper = arith.cmpi uge, %t, %c16 : index
    %size = arith.select %upper, %half, %full : i32
    nvvm.cp.async.shared.global %dst, %src, 16, cache = cg, %size : !llvm.ptr<3>, !llvm.ptr<1>, i32
    nvvm.cp.async.commit.group
    nvvm.cp.async.wait.group 0
    gpu.barrier
    %n0 = arith.addi %t, %c1 : index
    %n1 = arith.remui %n0, %c32 : index
    %from = arith.muli %n1, %c4 : index
    %v = vector.load %tile[%from] : memref<128xf32, #gpu.address_space<workgroup>>, vector<4xf32>
    %to = arith.muli %t, %c4 : index
    vector.store %v, %out[%to] : memref<128xf32>, vector<4xf32>
    gpu.return
  }
}
