import CKernels
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
/// Floats of activations (tokens x columns) one dequantized weight tile is multiplied against before the
/// next tile is decoded: 48K floats (192 KB) stay in a core's L2 next to the tile, so each weight row is
/// decoded once per matrix product for up to 48K / columns tokens (83 at 576 columns, 32 at 1536).
let gemmPanelFloats = 48 * 1024

/// Tokens per panel for a matrix of `columns` columns: at least 3 (one micro-kernel step).
@inline(__always)
func gemmTokenBlock(columns: Int) -> Int { max(3, gemmPanelFloats / max(1, columns)) }

/// `out[r] = W[r] . x` for `r` in `rows`.
/// `q8` (llama.cpp numerics, Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 weights): `x` holds the integer Q8 quants of one
/// row (in the active `Q8Kernels` layout) and `q8` their per-block (d, s) (`quantizeQ8Blocks`); the row dots then follow
/// ggml's float order (`ggmlMatMulQ8`); `q8K` (Q4_K/Q6_K weights) likewise for Q8_K quants
/// (`quantizeQ8KBlocks`, `ggmlMatMulQ8K`).
// W (rows, cols) @ x (cols,) -> out (rows,); xSums = blockSums(x) for Q4_0/Q4_1 float inputs
@inline(__always)
func matVec(
  _ w: WeightMatrix, _ bases: UnsafePointer<UnsafeRawPointer>, _ x: UnsafePointer<Float>, _ xSums: UnsafePointer<Float>,
  _ out: UnsafeMutablePointer<Float>, rows: Range<Int>, scratch: UnsafeMutablePointer<Float>,
  q8: Q8Meta? = nil, q8K: Q8KMeta? = nil
) {
  let start = bases[w.fileIndex] + w.byteOffset
  let cols = w.columns
  if let q8, hasGGMLQ8Kernel(w.type) {
    ggmlMatMulQ8(w.type, start, rowBytes: w.rowByteCount, rows: rows, x, ldx: cols, q8, tokens: 1, out, ldOut: 0)
    return
  }
  if let q8K, hasGGMLQ8KKernel(w.type) {
    // Q8_K integer activations (llama.cpp numerics, Q4_K/Q6_K): GGMLKQuantDots.swift, gemv order
    ggmlMatMulQ8K(w.type, start, rowBytes: w.rowByteCount, rows: rows, x, ldx: cols, q8K, tokens: 1, order: nil, out, ldOut: 0)
    return
  }
  // Software prefetch two rows ahead (as the C kernels do per group of 4 rows): the hardware prefetcher
  // restarts on every short row and falls behind the memory-bound row dots.
  let rowBytes = w.rowByteCount
  let end = start + rows.upperBound &* rowBytes
  var ahead = start + rows.lowerBound &* rowBytes
  @inline(__always) func prefetch(through row: Int) {
    // can't overflow: rows end inside the mapped matrix
    let target = min(end, start + row &* rowBytes)
    while ahead < target {
      scan_prefetch(ahead)
      ahead += 64
    }
  }
  prefetch(through: rows.lowerBound &+ 2)
  switch w.type {
  case .q4_1:
    for r in rows {
      prefetch(through: r &+ 3)
      out[r] = dotQ4_1(start + r &* rowBytes, x, xSums, cols / 32)
    }
  case .q8_0:
    for r in rows {
      prefetch(through: r &+ 3)
      out[r] = dotQ8_0(start + r &* rowBytes, x, cols / 32)
    }
  default:
    for r in rows {
      prefetch(through: r &+ 3)
      out[r] = dotRow(w.type, start + r &* rowBytes, x, xSums, cols, scratch)
    }
  }
}

/// `out[t][r] = W[r] . X[t]` for `r` in `rows`, `t` in `0..<tokens`.
///
/// Float path: dequantizes `gemmTileRows` weight rows at a time into `tile` and multiplies them against
/// blocks of tokens in float. With `rowOrder` (llama.cpp numerics) every product is computed exactly as
/// `matVec` computes it for that token alone, so batched and single evaluation give the same bits:
/// Q8-partner weights (`q8` given) through the ggml-order kernels (`ggmlMatMulQ8`, each decoded weight
/// block serving 8 tokens); other types through the matrix-vector row kernel per token.
// W (rows, cols) @ X (tokens, cols)^T -> out (tokens, ldOut) at column r
func matMat(
  _ w: WeightMatrix, _ bases: UnsafePointer<UnsafeRawPointer>, _ x: UnsafePointer<Float>, tokens: Int,
  _ out: UnsafeMutablePointer<Float>, ldOut: Int, rows: Range<Int>, tile: UnsafeMutablePointer<Float>,
  q8: Q8Meta? = nil, q8K: Q8KMeta? = nil, kQuantOrder: UnsafePointer<KQuantOrder>? = nil, rowOrder: Bool = false
) {
  let start = bases[w.fileIndex] + w.byteOffset
  let k = w.columns
  if let q8, hasGGMLQ8Kernel(w.type) {
    ggmlMatMulQ8(w.type, start, rowBytes: w.rowByteCount, rows: rows, x, ldx: k, q8, tokens: tokens, out, ldOut: ldOut)
    return
  }
  if let q8K, hasGGMLQ8KKernel(w.type) {
    // Q8_K integer activations (Q4_K/Q6_K); `kQuantOrder` says which of llama.cpp's kernels (and float
    // orders) each token's product takes (GGMLKQuantDots.swift).
    ggmlMatMulQ8K(w.type, start, rowBytes: w.rowByteCount, rows: rows, x, ldx: k, q8K, tokens: tokens, order: kQuantOrder, out, ldOut: ldOut)
    return
  }
  if rowOrder {
    // The same row kernel matVec uses (no Q4_0/Q4_1 float inputs here: under llama.cpp numerics those
    // weights always see Q8 blocks), token by token; the row stays in cache across the tokens.
    for r in rows {
      let row = start + r &* w.rowByteCount
      for t in 0..<tokens { out[t &* ldOut &+ r] = dotRow(w.type, row, x + t &* k, x, k, tile) }
    }
    return
  }
  let block = gemmTokenBlock(columns: k)
  let end = start + rows.upperBound &* w.rowByteCount
  var t0 = 0
  while t0 < tokens {
    let t1 = min(tokens, t0 &+ block)
    var r = rows.lowerBound
    // Software prefetch one tile (4 rows) ahead: a chunk is a few tiles, so the hardware prefetcher restarts often.
    var ahead = start + r &* w.rowByteCount
    while r < rows.upperBound {
      // can't overflow: rows end inside the mapped matrix
      let target = min(end, start + (r &+ 2 &* gemmTileRows) &* w.rowByteCount)
      while ahead < target {
        scan_prefetch(ahead)
        ahead += 64
      }
      let n = min(gemmTileRows, rows.upperBound &- r)
      for i in 0..<n {
        dequantizeRow(w.type, start + (r &+ i) &* w.rowByteCount, tile + i &* k, k)
      }
      if n == 4 && k & 7 == 0 {
        // Each decoded tile meets every token of the panel: 4 rows x 3 tokens per micro-kernel call.
        var t = t0
        while t &+ 3 <= t1 {
          tile4x3(tile, k, x + t &* k, x + (t &+ 1) &* k, x + (t &+ 2) &* k,
                  out + t &* ldOut + r, out + (t &+ 1) &* ldOut + r, out + (t &+ 2) &* ldOut + r)
          t &+= 3
        }
        if t &+ 2 <= t1 {
          tile4x2(tile, k, x + t &* k, x + (t &+ 1) &* k, out + t &* ldOut + r, out + (t &+ 1) &* ldOut + r)
          t &+= 2
        }
        if t < t1 { tile4x1(tile, k, x + t &* k, out + t &* ldOut + r) }
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

/// One token against 4 dequantized weight rows, in the same summation order as `tile4x2`/`tile4x3` (one
/// SIMD8 accumulator per output, then its lane sum), so a token's products do not depend on how the
/// batch's tokens were grouped into micro-kernel calls (batched prompts equal single prompts bit for bit).
// w (4, k) . xa (k,) -> oa[0..<4];  k % 8 == 0
@inline(__always)
func tile4x1(_ w: UnsafePointer<Float>, _ k: Int, _ xa: UnsafePointer<Float>, _ oa: UnsafeMutablePointer<Float>) {
  var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
  let w1 = w + k, w2 = w + 2 &* k, w3 = w + 3 &* k
  var i = 0
  while i < k {
    let va = load8(xa + i)
    a0 = fma8(a0, load8(w + i), va)
    a1 = fma8(a1, load8(w1 + i), va)
    a2 = fma8(a2, load8(w2 + i), va)
    a3 = fma8(a3, load8(w3 + i), va)
    i &+= 8
  }
  oa[0] = a0.sum()
  oa[1] = a1.sum()
  oa[2] = a2.sum()
  oa[3] = a3.sum()
}

/// The GEMM micro-kernel: 4 dequantized weight rows against 3 token rows, 12 SIMD8 accumulators
/// (enough independent FMA chains to cover the FMA latency on both ports; 7 loads per 12 FMAs).
// w (4, k) . xa (k,), xb (k,), xc (k,) -> oa[0..<4], ob[0..<4], oc[0..<4];  k % 8 == 0
@inline(__always)
func tile4x3(
  _ w: UnsafePointer<Float>, _ k: Int, _ xa: UnsafePointer<Float>, _ xb: UnsafePointer<Float>, _ xc: UnsafePointer<Float>,
  _ oa: UnsafeMutablePointer<Float>, _ ob: UnsafeMutablePointer<Float>, _ oc: UnsafeMutablePointer<Float>
) {
  var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
  var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
  var c0 = SIMD8<Float>(), c1 = SIMD8<Float>(), c2 = SIMD8<Float>(), c3 = SIMD8<Float>()
  let w1 = w + k, w2 = w + 2 &* k, w3 = w + 3 &* k
  var i = 0
  while i < k {
    let va = load8(xa + i), vb = load8(xb + i), vc = load8(xc + i)
    let r0 = load8(w + i)
    a0 = fma8(a0, r0, va)
    b0 = fma8(b0, r0, vb)
    c0 = fma8(c0, r0, vc)
    let r1 = load8(w1 + i)
    a1 = fma8(a1, r1, va)
    b1 = fma8(b1, r1, vb)
    c1 = fma8(c1, r1, vc)
    let r2 = load8(w2 + i)
    a2 = fma8(a2, r2, va)
    b2 = fma8(b2, r2, vb)
    c2 = fma8(c2, r2, vc)
    let r3 = load8(w3 + i)
    a3 = fma8(a3, r3, va)
    b3 = fma8(b3, r3, vb)
    c3 = fma8(c3, r3, vc)
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
  oc[0] = c0.sum()
  oc[1] = c1.sum()
  oc[2] = c2.sum()
  oc[3] = c3.sum()
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
