// One warpgroup: D[64x8] = A[64x16] x B[8x16]^T with wgmma.mma_async
// m64n8k16 (bf16, f32 accumulators). x holds A (row-major, 1024 floats)
// then B (rows of k, 128 floats); y[m * 8 + n] = D[m][n], the rest 0.
// Operands go to shared memory in the K-major core-matrix layout (8 rows
// x 16 bytes per 128-byte core matrix; LBO 128 bytes along k, SBO 256
// bytes between 8-row groups), then fence.proxy.async and a barrier.
gpu.module @llm_kernels {
  gpu.func @k(%in: memref<1152xf32>, %out: memref<1152xf32>) workgroup(%a: memref<1024xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %b: memref<128xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel attributes {known_block_size = array<i32: 128, 1, 1>} {
    %t = gpu.thread_id x
    %c0 = arith.constant 0 : index
    %c2 = arith.constant 2 : index
    %c8 = arith.constant 8 : index
    %c16 = arith.constant 16 : index
    %c64 = arith.constant 64 : index
    %c128 = arith.constant 128 : index
    %c1024 = arith.constant 1024 : index
    %c1152 = arith.constant 1152 : index
    %zero = arith.constant 0.0 : f32
    scf.for %e = %t to %c1152 step %c128 {
      %v = memref.load %in[%e] : memref<1152xf32>
      %h = arith.truncf %v : f32 to bf16
      %isA = arith.cmpi ult, %e, %c1024 : index
      %local = arith.select %isA, %e, %e : index
      %e2 = arith.subi %e, %c1024 : index
      %f = arith.select %isA, %e, %e2 : index
      %row = arith.divui %f, %c16 : index
      %k = arith.remui %f, %c16 : index
      // element offset: (row / 8) * 128 + (k / 8) * 64 + (row % 8) * 8 + k % 8
      %rg = arith.divui %row, %c8 : index
      %rr = arith.remui %row, %c8 : index
      %kg = arith.divui %k, %c8 : index
      %kr = arith.remui %k, %c8 : index
      %o1 = arith.muli %rg, %c128 : index
      %o2 = arith.muli %kg, %c64 : index
      %o3 = arith.muli %rr, %c8 : index
      %o12 = arith.addi %o1, %o2 : index
      %o34 = arith.addi %o3, %kr : index
      %o = arith.addi %o12, %o34 : index
      scf.if %isA {
        memref.store %h, %a[%o] : memref<1024xbf16, #gpu.address_space<workgroup>>
      } else {
        memref.store %h, %b[%o] : memref<128xbf16, #gpu.address_space<workgroup>>
      }
      memref.store %zero, %out[%e] : memref<1152xf32>
    }
    nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
    gpu.barrier
    %pa = memref.extract_aligned_pointer_as_index %a : memref<1024xbf16, #gpu.address_space<workgroup>> -> index
    %pb = memref.extract_aligned_pointer_as_index %b : memref<128xbf16, #gpu.address_space<workgroup>> -> index
    %ia = arith.index_cast %pa : index to i64
    %ib = arith.index_cast %pb : index to i64
    %c4 = arith.constant 4 : i64
    // LBO 128 >> 4 = 8 in bits 16-29, SBO 256 >> 4 = 16 in bits 32-45.
    %fixed = arith.constant 68720001024 : i64
    %sa = arith.shrui %ia, %c4 : i64
    %sb = arith.shrui %ib, %c4 : i64
    %da = arith.ori %sa, %fixed : i64
    %db = arith.ori %sb, %fixed : i64
    %acc0 = llvm.mlir.zero : !llvm.struct<(f32, f32, f32, f32)>
    nvvm.wgmma.fence.aligned
    %acc = nvvm.wgmma.mma_async %da, %db, %acc0, <m = 64, n = 8, k = 16>, D [<f32>, <zero>], A [<bf16>, <one>, <row>], B [<bf16>, <one>, <col>] : !llvm.struct<(f32, f32, f32, f32)> -> !llvm.struct<(f32, f32, f32, f32)>
    nvvm.wgmma.commit.group.sync.aligned
    // IN-FLIGHT
    nvvm.wgmma.wait.group.sync.aligned 0
    // Thread (warp w, lane l) holds D[16w + l/4 (+8 for r = 2, 3)][2(l%4) + r%2].
    %c32 = arith.constant 32 : index
    %c4i = arith.constant 4 : index
    %w = arith.divui %t, %c32 : index
    %l = arith.remui %t, %c32 : index
    %g = arith.divui %l, %c4i : index
    %q = arith.remui %l, %c4i : index
    %w16 = arith.muli %w, %c16 : index
    %row0 = arith.addi %w16, %g : index
    %row1 = arith.addi %row0, %c8 : index
    %col0 = arith.muli %q, %c2 : index
    %c1 = arith.constant 1 : index
    %col1 = arith.addi %col0, %c1 : index
    %d0 = llvm.extractvalue %acc[0] : !llvm.struct<(f32, f32, f32, f32)>
    %d1 = llvm.extractvalue %acc[1] : !llvm.struct<(f32, f32, f32, f32)>
    %d2 = llvm.extractvalue %acc[2] : !llvm.struct<(f32, f32, f32, f32)>
    %d3 = llvm.extractvalue %acc[3] : !llvm.struct<(f32, f32, f32, f32)>
    gpu.barrier
    %r0 = arith.muli %row0, %c8 : index
    %r1 = arith.muli %row1, %c8 : index
    %i0 = arith.addi %r0, %col0 : index
    %i1 = arith.addi %r0, %col1 : index
    %i2 = arith.addi %r1, %col0 : index
    %i3 = arith.addi %r1, %col1 : index
    memref.store %d0, %out[%i0] : memref<1152xf32>
    memref.store %d1, %out[%i1] : memref<1152xf32>
    memref.store %d2, %out[%i2] : memref<1152xf32>
    memref.store %d3, %out[%i3] : memref<1152xf32>
    gpu.return
  }
}
