// Two views of the launch's dynamic shared memory: a at byte 0, b at byte
// B_OFFSET (256: after a; 128: overlapping a's upper half). b[t] = a[63 - t]
// after a barrier, then y[t] = b[(t + 1) % 64] * 2 after another.
gpu.module @llm_kernels {
  gpu.func @k(%in: memref<64xf32>, %out: memref<64xf32>) kernel attributes {known_block_size = array<i32: 64, 1, 1>} {
    %smem = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
    %c0 = arith.constant 0 : index
    %cb = arith.constant B_OFFSET : index
    %a = memref.view %smem[%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64xf32, #gpu.address_space<workgroup>>
    %b = memref.view %smem[%cb][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64xf32, #gpu.address_space<workgroup>>
    %t = gpu.thread_id x
    %c1 = arith.constant 1 : index
    %c63 = arith.constant 63 : index
    %c64 = arith.constant 64 : index
    %v = memref.load %in[%t] : memref<64xf32>
    memref.store %v, %a[%t] : memref<64xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %r = arith.subi %c63, %t : index
    %w = memref.load %a[%r] : memref<64xf32, #gpu.address_space<workgroup>>
    memref.store %w, %b[%t] : memref<64xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %next = arith.addi %t, %c1 : index
    %n = arith.remui %next, %c64 : index
    %u = memref.load %b[%n] : memref<64xf32, #gpu.address_space<workgroup>>
    %two = arith.constant 2.0 : f32
    %y = arith.mulf %u, %two : f32
    memref.store %y, %out[%t] : memref<64xf32>
    gpu.return
  }
}
