import Formats

/// A 2-D weight tensor left in its stored type inside the mapped file.
///
/// GGUF stores a matrix with `ne[0] = columns` (the fastest-varying, input dimension) and
/// `ne[1] = rows` (output dimension); row `r` is `rowByteCount` bytes at `byteOffset + r * rowByteCount`.
/// The loader checks that the whole range lies inside the file, so kernels do no per-row checks.
struct WeightMatrix: Sendable {
  let name: String
  let type: GGMLType
  let rows: Int
  let columns: Int
  /// Which of the model's mapped files holds the matrix.
  let fileIndex: Int
  /// Absolute byte offset of row 0 in the mapped file.
  let byteOffset: Int
  let rowByteCount: Int
}

/// Rows of the GEMM weight tile dequantized at once.
let gemmTileRows = 4
/// Tokens processed against one dequantized weight tile before moving on (keeps X in L2).
let gemmTokenBlock = 32

/// `out[r] = W[r] . x` for `r` in `rows`.
/// `sumCorrection` (Q5_1 under llama.cpp numerics): per-block fp16-sum corrections of x (see
/// `quantizeQ8`), added through each block's minimum. (Q4_1's fused kernel takes the fp16 sums
/// directly as `xSums`.)
// W (rows, cols) @ x (cols,) -> out (rows,); xSums = blockSums(x) for Q4_0/Q4_1
@inline(__always)
func matVec(
  _ w: WeightMatrix, _ bases: UnsafePointer<UnsafeRawPointer>, _ x: UnsafePointer<Float>, _ xSums: UnsafePointer<Float>,
  _ out: UnsafeMutablePointer<Float>, rows: Range<Int>, scratch: UnsafeMutablePointer<Float>,
  sumCorrection: UnsafePointer<Float>? = nil
) {
  let start = bases[w.fileIndex] + w.byteOffset
  let cols = w.columns
  if let sumCorrection, w.type == .q5_1 {
    for r in rows {
      let row = start + r &* w.rowByteCount
      out[r] = dotRow(w.type, row, x, xSums, cols, scratch) + q8_1SumCorrection(row, blockBytes: 24, sumCorrection, cols / 32)
    }
    return
  }
  switch w.type {
  case .q4_1:
    for r in rows { out[r] = dotQ4_1(start + r &* w.rowByteCount, x, xSums, cols / 32) }
  case .q8_0:
    for r in rows { out[r] = dotQ8_0(start + r &* w.rowByteCount, x, cols / 32) }
  default:
    for r in rows { out[r] = dotRow(w.type, start + r &* w.rowByteCount, x, xSums, cols, scratch) }
  }
}

/// `out[t][r] = W[r] . X[t]` for `r` in `rows`, `t` in `0..<tokens`: dequantizes `gemmTileRows`
/// weight rows at a time into `tile` and multiplies them against blocks of tokens in float.
/// `sumCorrection` (tokens, cols / 32): as in `matVec`, per token.
// W (rows, cols) @ X (tokens, cols)^T -> out (tokens, ldOut) at column r
func matMat(
  _ w: WeightMatrix, _ bases: UnsafePointer<UnsafeRawPointer>, _ x: UnsafePointer<Float>, tokens: Int,
  _ out: UnsafeMutablePointer<Float>, ldOut: Int, rows: Range<Int>, tile: UnsafeMutablePointer<Float>,
  sumCorrection: UnsafePointer<Float>? = nil
) {
  defer {
    if let sumCorrection, w.type.usesQ8_1Sum {
      let start = bases[w.fileIndex] + w.byteOffset
      let blockBytes = w.type == .q4_1 ? 20 : 24
      let nb = w.columns / 32
      // The tile is free again: hold one row's block minimums there, then one SIMD dot per token.
      for r in rows {
        let row = start + r &* w.rowByteCount
        for blk in 0..<nb { tile[blk] = half(row, blk &* blockBytes &+ 2) }
        for t in 0..<tokens { out[t &* ldOut &+ r] += dotF32(tile, sumCorrection + t &* nb, nb) }
      }
    }
  }
  let start = bases[w.fileIndex] + w.byteOffset
  let k = w.columns
  var t0 = 0
  while t0 < tokens {
    let t1 = min(tokens, t0 &+ gemmTokenBlock)
    var r = rows.lowerBound
    while r < rows.upperBound {
      let n = min(gemmTileRows, rows.upperBound &- r)
      for i in 0..<n {
        dequantizeRow(w.type, start + (r &+ i) &* w.rowByteCount, tile + i &* k, k)
      }
      if n == 4 && k & 7 == 0 {
        var t = t0
        while t + 2 <= t1 {
          tile4x2(tile, k, x + t &* k, x + (t &+ 1) &* k, out + t &* ldOut + r, out + (t &+ 1) &* ldOut + r)
          t &+= 2
        }
        if t < t1 {
          for i in 0..<4 { out[t &* ldOut &+ r &+ i] = dotF32(tile + i &* k, x + t &* k, k) }
        }
      } else {
        for t in t0..<t1 {
          for i in 0..<n { out[t &* ldOut &+ r &+ i] = dotF32(tile + i &* k, x + t &* k, k) }
        }
      }
      r &+= n
    }
    t0 = t1
  }
}

/// The GEMM micro-kernel: 4 dequantized weight rows against 2 token rows, 8 SIMD8 accumulators.
// w (4, k) . xa (k,), xb (k,) -> oa[0..<4], ob[0..<4];  k % 8 == 0
@inline(__always)
func tile4x2(
  _ w: UnsafePointer<Float>, _ k: Int, _ xa: UnsafePointer<Float>, _ xb: UnsafePointer<Float>,
  _ oa: UnsafeMutablePointer<Float>, _ ob: UnsafeMutablePointer<Float>
) {
  var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
  var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
  let w1 = w + k, w2 = w + 2 &* k, w3 = w + 3 &* k
  var i = 0
  while i < k {
    let va = load8(xa + i), vb = load8(xb + i)
    let r0 = load8(w + i)
    a0 = fma8(a0, r0, va)
    b0 = fma8(b0, r0, vb)
    let r1 = load8(w1 + i)
    a1 = fma8(a1, r1, va)
    b1 = fma8(b1, r1, vb)
    let r2 = load8(w2 + i)
    a2 = fma8(a2, r2, va)
    b2 = fma8(b2, r2, vb)
    let r3 = load8(w3 + i)
    a3 = fma8(a3, r3, va)
    b3 = fma8(b3, r3, vb)
    i &+= 8
  }
  oa[0] = a0.sum()
  oa[1] = a1.sum()
  oa[2] = a2.sum()
  oa[3] = a3.sum()
  ob[0] = b0.sum()
  ob[1] = b1.sum()
  ob[2] = b2.sum()
  ob[3] = b3.sum()
}

/// Splits `0..<count` into `parts` contiguous ranges whose bounds are multiples of `granule`
/// (except the end), and returns part `index`.
@inline(__always)
func partition(_ count: Int, parts: Int, index: Int, granule: Int = 4) -> Range<Int> {
  let units = (count &+ granule &- 1) / granule
  let lo = units &* index / parts
  let hi = units &* (index &+ 1) / parts
  return min(count, lo &* granule)..<min(count, hi &* granule)
}
