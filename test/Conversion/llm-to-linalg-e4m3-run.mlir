// REQUIRES: mlir-runner
// RUN: llm-opt %s --convert-llm-to-linalg \
// RUN: | %mlir_opt --pass-pipeline="builtin.module(one-shot-bufferize{bufferize-function-boundaries},func.func(convert-linalg-to-loops),expand-strided-metadata,lower-affine,convert-math-to-funcs,convert-math-to-llvm,convert-math-to-libm,finalize-memref-to-llvm,convert-scf-to-cf,convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts)" \
// RUN: | %mlir_runner -e main -entry-point-result=void -shared-libs=%runner_utils_libs \
// RUN: | FileCheck %s

// The host reference of FP8 E4M3 (llm.quantize/llm.qmatmul with e4m3):
// round to nearest even with ties at every binade and in the subnormals,
// saturation at 448 (and of infinities), NaN to 0x7F, signed zero; the
// expected bytes come from an exact rational reference (Python fractions).

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}
func.func private @printMemrefI32(memref<*xi32>) attributes {llvm.emit_c_interface}

func.func @printF(%t: tensor<*xf32>) {
  %m = bufferization.to_buffer %t : tensor<*xf32> to memref<*xf32>
  call @printMemrefF32(%m) : (memref<*xf32>) -> ()
  return
}
func.func @printI(%t: tensor<*xi32>) {
  %m = bufferization.to_buffer %t : tensor<*xi32> to memref<*xi32>
  call @printMemrefI32(%m) : (memref<*xi32>) -> ()
  return
}

func.func @main() {
  // Encoding: 1, -1, ±0, 448 and above (saturating, with ±inf), NaN, the
  // subnormal tie 2^-10 (to 0) and 3 x 2^-10 (to 2 x 2^-9), the ties
  // 1.0625 (to 1) and 1.1875 (to 1.25), 7.5 x 2^-9 (up to 2^-6, the
  // smallest normal), 240 and 232, 1e-30 (to 0) and a few others.
  // CHECK: [56,  -72,  0,  -128,  126,  126,  126,  126,  126,  -2,  127,  0,  2,  56,  58,  8,  119,  118,  0,  -86,  69,  -20,  90]
  %x = arith.constant dense<[1.0, -1.0, 0.0, -0.0, 448.0, 449.0, 464.0, 1.0e9, 0x7F800000, 0xFF800000, 0x7FC00000, 0.0009765625, 0.0029296875, 1.0625, 1.1875, 0.0146484375, 240.0, 232.0, 1.0e-30, -0.3, 3.14159, -100.0, 20.0]> : tensor<23xf32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %q = llm.quantize %x, %one {e4m3} : (tensor<23xf32>, tensor<f32>) -> tensor<23xi8>
  %q32 = llm.cast %q : (tensor<23xi8>) -> tensor<23xi32>
  %q_u = tensor.cast %q32 : tensor<23xi32> to tensor<*xi32>
  call @printI(%q_u) : (tensor<*xi32>) -> ()

  // The scale divides first: 3 / 2 = 1.5 is 0x3C.
  // CHECK: [60]
  %three = arith.constant dense<[3.0]> : tensor<1xf32>
  %two = arith.constant dense<2.0> : tensor<f32>
  %q2 = llm.quantize %three, %two {e4m3} : (tensor<1xf32>, tensor<f32>) -> tensor<1xi8>
  %q2_32 = llm.cast %q2 : (tensor<1xi8>) -> tensor<1xi32>
  %q2_u = tensor.cast %q2_32 : tensor<1xi32> to tensor<*xi32>
  call @printI(%q2_u) : (tensor<*xi32>) -> ()

  // Decoding, through a product with 1.0 (0x38): the smallest subnormal,
  // the largest subnormal, the smallest normal, 1, ±448, 240, -0.4375.
  // CHECK: [0.00195312,  0.0136719,  0.015625,  1,  448,  -448,  240,  -0.4375]
  %codes = arith.constant dense<[[1], [7], [8], [56], [126], [-2], [119], [-82]]> : tensor<8x1xi8>
  %unit = arith.constant dense<[[56]]> : tensor<1x1xi8>
  %d = llm.qmatmul %codes, %unit {e4m3} : (tensor<8x1xi8>, tensor<1x1xi8>) -> tensor<8x1xf32>
  %d_flat = llm.reshape %d : (tensor<8x1xf32>) -> tensor<8xf32>
  %d_u = tensor.cast %d_flat : tensor<8xf32> to tensor<*xf32>
  call @printF(%d_u) : (tensor<*xf32>) -> ()

  // llm.dequantize {e4m3} (FP8 QDQ's DequantizeLinear): the same bytes'
  // values times the scale 2, and -0 (0x80) as -0.
  // CHECK: [0.00390625,  0.0273438,  0.03125,  2,  896,  -896,  480,  -0.875,  -0]
  %codes9 = arith.constant dense<[1, 7, 8, 56, 126, -2, 119, -82, -128]> : tensor<9xi8>
  %dq = llm.dequantize %codes9, %two {e4m3} : (tensor<9xi8>, tensor<f32>) -> tensor<9xf32>
  %dq_u = tensor.cast %dq : tensor<9xf32> to tensor<*xf32>
  call @printF(%dq_u) : (tensor<*xf32>) -> ()

  // Every byte decoded and encoded again gives itself; both NaNs give 0x7F,
  // and -0 comes back as 0 (the product's f32 sum starts at +0).
  // CHECK: [0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,  11,  12,  13,  14,  15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,  41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51,  52,  53,  54,  55,  56,  57,  58,  59,  60,  61,  62,  63,  64,  65,  66,  67,  68,  69,  70,  71,  72,  73,  74,  75,  76,  77,  78,  79,  80,  81,  82,  83,  84,  85,  86,  87,  88,  89,  90,  91,  92,  93,  94,  95,  96,  97,  98,  99,  100,  101,  102,  103,  104,  105,  106,  107,  108,  109,  110,  111,  112,  113,  114,  115,  116,  117,  118,  119,  120,  121,  122,  123,  124,  125,  126,  127,  0,  -127,  -126,  -125,  -124,  -123,  -122,  -121,  -120,  -119,  -118,  -117,  -116,  -115,  -114,  -113,  -112,  -111,  -110,  -109,  -108,  -107,  -106,  -105,  -104,  -103,  -102,  -101,  -100,  -99,  -98,  -97,  -96,  -95,  -94,  -93,  -92,  -91,  -90,  -89,  -88,  -87,  -86,  -85,  -84,  -83,  -82,  -81,  -80,  -79,  -78,  -77,  -76,  -75,  -74,  -73,  -72,  -71,  -70,  -69,  -68,  -67,  -66,  -65,  -64,  -63,  -62,  -61,  -60,  -59,  -58,  -57,  -56,  -55,  -54,  -53,  -52,  -51,  -50,  -49,  -48,  -47,  -46,  -45,  -44,  -43,  -42,  -41,  -40,  -39,  -38,  -37,  -36,  -35,  -34,  -33,  -32,  -31,  -30,  -29,  -28,  -27,  -26,  -25,  -24,  -23,  -22,  -21,  -20,  -19,  -18,  -17,  -16,  -15,  -14,  -13,  -12,  -11,  -10,  -9,  -8,  -7,  -6,  -5,  -4,  -3,  -2,  127]
  %all = arith.constant dense<[[0],[1],[2],[3],[4],[5],[6],[7],[8],[9],[10],[11],[12],[13],[14],[15],[16],[17],[18],[19],[20],[21],[22],[23],[24],[25],[26],[27],[28],[29],[30],[31],[32],[33],[34],[35],[36],[37],[38],[39],[40],[41],[42],[43],[44],[45],[46],[47],[48],[49],[50],[51],[52],[53],[54],[55],[56],[57],[58],[59],[60],[61],[62],[63],[64],[65],[66],[67],[68],[69],[70],[71],[72],[73],[74],[75],[76],[77],[78],[79],[80],[81],[82],[83],[84],[85],[86],[87],[88],[89],[90],[91],[92],[93],[94],[95],[96],[97],[98],[99],[100],[101],[102],[103],[104],[105],[106],[107],[108],[109],[110],[111],[112],[113],[114],[115],[116],[117],[118],[119],[120],[121],[122],[123],[124],[125],[126],[127],[-128],[-127],[-126],[-125],[-124],[-123],[-122],[-121],[-120],[-119],[-118],[-117],[-116],[-115],[-114],[-113],[-112],[-111],[-110],[-109],[-108],[-107],[-106],[-105],[-104],[-103],[-102],[-101],[-100],[-99],[-98],[-97],[-96],[-95],[-94],[-93],[-92],[-91],[-90],[-89],[-88],[-87],[-86],[-85],[-84],[-83],[-82],[-81],[-80],[-79],[-78],[-77],[-76],[-75],[-74],[-73],[-72],[-71],[-70],[-69],[-68],[-67],[-66],[-65],[-64],[-63],[-62],[-61],[-60],[-59],[-58],[-57],[-56],[-55],[-54],[-53],[-52],[-51],[-50],[-49],[-48],[-47],[-46],[-45],[-44],[-43],[-42],[-41],[-40],[-39],[-38],[-37],[-36],[-35],[-34],[-33],[-32],[-31],[-30],[-29],[-28],[-27],[-26],[-25],[-24],[-23],[-22],[-21],[-20],[-19],[-18],[-17],[-16],[-15],[-14],[-13],[-12],[-11],[-10],[-9],[-8],[-7],[-6],[-5],[-4],[-3],[-2],[-1]]> : tensor<256x1xi8>
  %all_f = llm.qmatmul %all, %unit {e4m3} : (tensor<256x1xi8>, tensor<1x1xi8>) -> tensor<256x1xf32>
  %again = llm.quantize %all_f, %one {e4m3} : (tensor<256x1xf32>, tensor<f32>) -> tensor<256x1xi8>
  %again_flat = llm.reshape %again : (tensor<256x1xi8>) -> tensor<256xi8>
  %again32 = llm.cast %again_flat : (tensor<256xi8>) -> tensor<256xi32>
  %again_u = tensor.cast %again32 : tensor<256xi32> to tensor<*xi32>
  call @printI(%again_u) : (tensor<*xi32>) -> ()

  // A product summed in f32: [1.5, -2, 0.25] . [4, 0.5, -8] = 6 - 1 - 2
  // and [448, 448, 0] . [4, 0.5, -8] = 1792 + 224, rhs [N, K].
  // CHECK: {{\[\[}}3],
  // CHECK-NEXT: [2016]]
  %a = arith.constant dense<[[60, -64, 40], [126, 126, 0]]> : tensor<2x3xi8>
  %b = arith.constant dense<[[72, 48, -48]]> : tensor<1x3xi8>
  %p = llm.qmatmul %a, %b {e4m3, transpose_rhs = true} : (tensor<2x3xi8>, tensor<1x3xi8>) -> tensor<2x1xf32>

  // An f32 accumulator dequantizes by multiplying.
  // CHECK: {{\[\[}}1.5],
  // CHECK-NEXT: [1008]]
  %half = arith.constant dense<0.5> : tensor<f32>
  %y = llm.dequantize %p, %half : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %p_u = tensor.cast %p : tensor<2x1xf32> to tensor<*xf32>
  call @printF(%p_u) : (tensor<*xf32>) -> ()
  %y_u = tensor.cast %y : tensor<2x1xf32> to tensor<*xf32>
  call @printF(%y_u) : (tensor<*xf32>) -> ()
  return
}
