/**
 * Raw DEFLATE (RFC 1951), both ways, sized for cookie payloads: the edge runtime has neither Node's zlib nor
 * `CompressionStream` (src/lib/compress.ts says where each runs, Node keeps its zlib). Written here rather than
 * taken from fflate, whose `deflateSync` allocates ~172 KB of tables on every call: this one keeps its hash tables
 * between calls. Measured for the 1 KB cart in a bare EdgeVM (CPU time): deflate ~50 µs against fflate's ~250,
 * inflate ~90 µs against ~115, 233 bytes against fflate's 260 (zlib: 232); 6.7 KiB minified for both directions
 * against fflate's 8.0.
 *
 * The compressor is zlib's level 5 strategy (hash chains of 3-byte strings, lazy matching, one dynamic or fixed
 * Huffman block, whichever is shorter), so cookies are about zlib's size. The decompressor reads any valid raw
 * DEFLATE stream (stored, fixed and dynamic blocks, as Python's zlib writes for Django's cookies) and throws on
 * anything else; it decodes canonical codes bit by bit (puff.c's method), plenty for a few KB.
 */

/** Length codes 257-285 and distance codes 0-29: base value and extra bits, computed as RFC 1951 §3.2.5 tabulates them. */
const LENGTH_BASE = new Uint16Array(29)
const LENGTH_EXTRA = new Uint8Array(29)
const DIST_BASE = new Uint16Array(30)
const DIST_EXTRA = new Uint8Array(30)
for (let i = 0, base = 3; i < 28; i++) {
  LENGTH_EXTRA[i] = i < 8 ? 0 : (i - 4) >> 2
  LENGTH_BASE[i] = base
  base += 1 << LENGTH_EXTRA[i]!
}
// 258 has a code of its own (285), not 227 + 31 with 5 extra bits.
LENGTH_BASE[28] = 258
for (let i = 0, base = 1; i < 30; i++) {
  DIST_EXTRA[i] = i < 4 ? 0 : (i - 2) >> 1
  DIST_BASE[i] = base
  base += 1 << DIST_EXTRA[i]!
}
/** The order code length code lengths are sent in (§3.2.7). */
const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
const END_OF_BLOCK = 256
const MAX_MATCH = 258
const WINDOW = 32768

/** Fixed Huffman code lengths (§3.2.6): 288 literal/length symbols, then 30 distance symbols. */
const FIXED = new Uint8Array(318)
FIXED.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288).fill(5, 288)

/**
 * Working arrays, made once and reused by every call (both directions are synchronous, so no two calls share them
 * at once). Not only for the garbage collector: in Node's vm contexts (the EdgeVM, `next start`'s edge sandbox)
 * each typed array costs ~2 µs to make, about 35 times Node's own, and a call made some 30 of them.
 */
const MAX_SYMBOLS = 286
const TREE_NODES = 2 * MAX_SYMBOLS - 1
const treeKeys = new Float64Array(MAX_SYMBOLS)
const treeOrder = new Uint16Array(MAX_SYMBOLS)
const treeWeight = new Float64Array(TREE_NODES)
const treeParent = new Int32Array(TREE_NODES)
const treeDepth = new Uint8Array(TREE_NODES)
const codeCount = new Uint16Array(16)
const codeNext = new Uint16Array(16)

// ---- compress ----------------------------------------------------------------------------------

/**
 * zlib level 5's limits (level 6 follows chains 4 times longer, for the same 233 bytes of cart): a match this
 * long is taken as is; a shorter one is checked against the next position (lazy matching).
 */
const NICE = 32
const MAX_LAZY = 16
/** Chain links followed per position, a quarter of it once a match of GOOD is in hand. */
const MAX_CHAIN = 32
const GOOD = 8
/** A 3-byte match farther back than this costs more bits than its 3 literals (zlib's TOO_FAR). */
const TOO_FAR = 4096
/** zlib's hash for 14 bits: each byte shifted 5 further than the next, so the last 3 bytes decide it. */
const HASH_BITS = 14
const HASH_SHIFT = 5

/**
 * `head`: the last position of each 3-byte hash; `prev`: the position before it with the same hash, in a
 * window-sized ring. Made at the first compression (a process that only reads cookies never holds their 192 KiB)
 * and kept: entries hold `position + base`, and each call starts `base` past every earlier entry, so nothing needs
 * clearing between calls (only when `base` nears 2^30, after some 30 000 calls: one clear of `head`).
 */
let tables: { head: Int32Array; prev: Int32Array } | null = null
let base = 1
/** The block's symbols, one per input byte at most: grown to the largest input yet, and kept up to 256 KiB. */
let blockSymbols = new Int32Array(0)
const KEPT_SYMBOLS = 1 << 16
const litFreq = new Int32Array(MAX_SYMBOLS)
const distFreq = new Int32Array(30)
const clenFreq = new Int32Array(19)
/** Literal/length code lengths at 0-285, distance code lengths at 286-315. */
const lengths = new Uint8Array(MAX_SYMBOLS + 30)
const sequence = new Uint8Array(MAX_SYMBOLS + 30)
const clenLengths = new Uint8Array(19)
const litCodes = new Uint16Array(MAX_SYMBOLS)
const distCodes = new Uint16Array(30)
const clenCodes = new Uint16Array(19)

/** Huffman code lengths for `freq[0..n)`, none over `limit` bits, into `out`. Every used symbol gets a code. */
function codeLengths(freq: Int32Array, n: number, limit: number, out: Uint8Array): void {
  out.fill(0, 0, n)
  const symbols: number[] = []
  for (let i = 0; i < n; i++) if (freq[i]) symbols.push(i)
  // Two codes at least, as zlib sends: a lone code of one bit is incomplete, which some inflaters refuse.
  for (let i = 0; symbols.length < 2; i++) if (!freq[i]) symbols.push(i)
  const weight = symbols.map((s) => freq[s] || 1)
  for (;;) {
    const m = symbols.length
    // Sorted by weight, ties by symbol, as one number each: a typed array sorts without a comparator call.
    const keys = treeKeys.subarray(0, m)
    for (let i = 0; i < m; i++) keys[i] = weight[i]! * 512 + i
    keys.sort()
    const order = treeOrder
    // Leaves 0..m-1 in order of weight, internal nodes m..2m-2 made in order of weight: two queues, no heap.
    const w = treeWeight
    for (let k = 0; k < m; k++) {
      order[k] = keys[k]! % 512
      w[k] = (keys[k]! - order[k]!) / 512
    }
    const parent = treeParent
    let leaf = 0
    let node = m
    for (let k = m; k < 2 * m - 1; k++) {
      let sum = 0
      for (let pick = 0; pick < 2; pick++) {
        const child = leaf < m && (node >= k || w[leaf]! <= w[node]!) ? leaf++ : node++
        sum += w[child]!
        parent[child] = k
      }
      w[k] = sum
    }
    const depth = treeDepth
    depth[2 * m - 2] = 0
    let longest = 0
    for (let k = 2 * m - 3; k >= 0; k--) {
      depth[k] = depth[parent[k]!]! + 1
      if (k < m && depth[k]! > longest) longest = depth[k]!
    }
    if (longest <= limit) {
      for (let k = 0; k < m; k++) out[symbols[order[k]!]!] = depth[k]!
      return
    }
    // Too deep: flatten the weights and build again. All ones gives a balanced tree, so this ends.
    for (let i = 0; i < weight.length; i++) weight[i] = (weight[i]! + 1) >> 1
  }
}

/**
 * Canonical codes for `lengths` (§3.2.2), bit-reversed (DEFLATE sends Huffman codes starting from their top bit),
 * into `codes`; a symbol without a length keeps whatever `codes` held.
 */
function canonicalCodes(lengths: Uint8Array, codes: Uint16Array = new Uint16Array(lengths.length)): Uint16Array {
  const count = codeCount.fill(0)
  for (const len of lengths) count[len] = count[len]! + 1
  count[0] = 0
  const next = codeNext
  for (let len = 1, code = 0; len < 16; len++) {
    code = (code + count[len - 1]!) << 1
    next[len] = code
  }
  for (let s = 0; s < lengths.length; s++) {
    const len = lengths[s]!
    if (!len) continue
    let code = next[len]!
    next[len] = code + 1
    let reversed = 0
    for (let b = 0; b < len; b++, code >>= 1) reversed = (reversed << 1) | (code & 1)
    codes[s] = reversed
  }
  return codes
}

const FIXED_LIT_CODES = canonicalCodes(FIXED.subarray(0, 288))
const FIXED_DIST_CODES = canonicalCodes(FIXED.subarray(288))

/** The length code (0-28, for symbols 257-285) of a match length 3-258, and the distance code of 1-32768. */
function lengthCode(len: number): number {
  let c = 0
  while (c < 28 && LENGTH_BASE[c + 1]! <= len) c++
  return c
}
const LENGTH_CODE = new Uint8Array(MAX_MATCH + 1)
for (let len = 3; len <= MAX_MATCH; len++) LENGTH_CODE[len] = lengthCode(len)
/** Distance codes by `dist - 1` up to 256, then by `(dist - 1) >> 7` from index 256 (zlib's dist_code table). */
const DIST_CODE = new Uint8Array(512)
for (let c = 0; c < 30; c++) {
  for (let d = DIST_BASE[c]!; d < DIST_BASE[c]! + (1 << DIST_EXTRA[c]!); d++) {
    DIST_CODE[d <= 256 ? d - 1 : 256 + ((d - 1) >> 7)] = c
  }
}
const distCode = (dist: number): number => DIST_CODE[dist <= 256 ? dist - 1 : 256 + ((dist - 1) >> 7)]!

/** Raw DEFLATE of `data`: one block, zlib level 5's matching. Any inflater reads it back. */
export function deflateRaw(data: Uint8Array): Uint8Array {
  const n = data.length
  const { head, prev } = (tables ??= { head: new Int32Array(1 << HASH_BITS), prev: new Int32Array(WINDOW) })
  if (blockSymbols.length < n + 1 && n < KEPT_SYMBOLS) blockSymbols = new Int32Array(Math.min(KEPT_SYMBOLS, Math.max(n + 1, 2 * blockSymbols.length)))
  // A larger input (a cap raised far past a cookie's size) gets an array of its own, not kept.
  const symbols = n < KEPT_SYMBOLS ? blockSymbols : new Int32Array(n + 1)
  if (base > 1 << 30) {
    head.fill(0)
    base = 1
  }
  const off = base
  base += n + WINDOW
  const hashAt = (i: number): number => ((data[i]! << (2 * HASH_SHIFT)) ^ (data[i + 1]! << HASH_SHIFT) ^ data[i + 2]!) & ((1 << HASH_BITS) - 1)
  /** Puts position `i` at the head of its chain; returns the position before it with the same hash, or -1. */
  const insert = (i: number): number => {
    if (i + 2 >= n) return -1
    const h = hashAt(i)
    const before = head[h]!
    prev[i & (WINDOW - 1)] = before
    head[h] = i + off
    return before - off
  }

  // Symbols: a literal byte (< 256) or a match, length << 16 | distance.
  let count = 0
  litFreq.fill(0)
  distFreq.fill(0)
  let extraBits = 0
  const literal = (byte: number): void => {
    symbols[count++] = byte
    litFreq[byte] = litFreq[byte]! + 1
  }
  const match = (len: number, dist: number): void => {
    symbols[count++] = (len << 16) | dist
    const lc = LENGTH_CODE[len]!
    const dc = distCode(dist)
    litFreq[257 + lc] = litFreq[257 + lc]! + 1
    distFreq[dc] = distFreq[dc]! + 1
    extraBits += LENGTH_EXTRA[lc]! + DIST_EXTRA[dc]!
  }

  let pendingLen = 0
  let pendingDist = 0
  let pending = false
  for (let i = 0; i < n; ) {
    let candidate = insert(i)
    let len = 0
    let dist = 0
    if (candidate >= 0 && !(pending && pendingLen >= MAX_LAZY)) {
      // No Math.min in this loop: in Node's vm contexts (the EdgeVM, `next start`'s edge sandbox) each Math call
      // is a call into another realm, about 250 ns, which made this 8 times slower there.
      const most = n - i < MAX_MATCH ? n - i : MAX_MATCH
      const nice = most < NICE ? most : NICE
      let chain = pending && pendingLen >= GOOD ? MAX_CHAIN >> 2 : MAX_CHAIN
      // Strictly inside the window: the ring slot of a position WINDOW back is already the current one's.
      while (candidate >= 0 && i - candidate < WINDOW && chain-- > 0) {
        if (data[candidate + len] === data[i + len] && data[candidate] === data[i] && data[candidate + 1] === data[i + 1]) {
          let l = 2
          while (l < most && data[candidate + l] === data[i + l]) l++
          if (l > len) {
            len = l
            dist = i - candidate
            if (l >= nice) break
          }
        }
        const earlier = prev[candidate & (WINDOW - 1)]! - off
        // A ring slot overwritten by a later position points forward: the chain ends there.
        if (earlier >= candidate) break
        candidate = earlier
      }
      if (len < 3 || (len === 3 && dist > TOO_FAR)) len = 0
    }
    if (pending && pendingLen >= 3 && len <= pendingLen) {
      // The match found one position back is at least as long: take it, and index the positions it covers.
      match(pendingLen, pendingDist)
      const end = i - 1 + pendingLen
      for (let j = i + 1; j < end; j++) insert(j)
      i = end
      pending = false
      continue
    }
    if (pending) literal(data[i - 1]!)
    pending = true
    pendingLen = len
    pendingDist = dist
    i++
  }
  if (pending) literal(data[n - 1]!)
  litFreq[END_OF_BLOCK] = litFreq[END_OF_BLOCK]! + 1

  // The dynamic block's code lengths, and its header: HLIT, HDIST, HCLEN and the code lengths, run-length coded.
  codeLengths(litFreq, 286, 15, lengths)
  codeLengths(distFreq, 30, 15, lengths.subarray(286))
  let hlit = 286
  while (hlit > 257 && !lengths[hlit - 1]) hlit--
  let hdist = 30
  while (hdist > 1 && !lengths[286 + hdist - 1]) hdist--
  const sequenceLength = hlit + hdist
  sequence.set(lengths.subarray(0, hlit))
  sequence.set(lengths.subarray(286, 286 + hdist), hlit)
  // Each entry: code length symbol | extra value << 5.
  const runs: number[] = []
  clenFreq.fill(0)
  for (let i = 0; i < sequenceLength; ) {
    const value = sequence[i]!
    let run = 1
    while (i + run < sequenceLength && sequence[i + run] === value) run++
    i += run
    if (value === 0) {
      for (; run >= 11; run -= Math.min(run, 138)) runs.push(18 | ((Math.min(run, 138) - 11) << 5))
      if (run >= 3) {
        runs.push(17 | ((run - 3) << 5))
        run = 0
      }
    } else {
      runs.push(value)
      run--
      for (; run >= 3; run -= Math.min(run, 6)) runs.push(16 | ((Math.min(run, 6) - 3) << 5))
    }
    for (; run > 0; run--) runs.push(value)
  }
  for (const r of runs) clenFreq[r & 31] = clenFreq[r & 31]! + 1
  codeLengths(clenFreq, 19, 7, clenLengths)
  let hclen = 19
  while (hclen > 4 && !clenLengths[CLEN_ORDER[hclen - 1]!]) hclen--

  // Bits of each choice; the block goes out in the shorter code.
  let dynamicBits = 3 + 14 + 3 * hclen + extraBits
  let fixedBits = 3 + extraBits
  for (let s = 0; s < 286; s++) {
    dynamicBits += litFreq[s]! * lengths[s]!
    fixedBits += litFreq[s]! * FIXED[s]!
  }
  for (let d = 0; d < 30; d++) {
    dynamicBits += distFreq[d]! * lengths[286 + d]!
    fixedBits += distFreq[d]! * 5
  }
  for (let c = 0; c < 19; c++) dynamicBits += clenFreq[c]! * (clenLengths[c]! + (c === 16 ? 2 : c === 17 ? 3 : c === 18 ? 7 : 0))
  const dynamic = dynamicBits < fixedBits

  const out = new Uint8Array((Math.min(dynamicBits, fixedBits) + 7) >> 3)
  let pos = 0
  let acc = 0
  let bits = 0
  const put = (value: number, width: number): void => {
    acc |= value << bits
    bits += width
    while (bits >= 8) {
      out[pos++] = acc & 255
      acc >>>= 8
      bits -= 8
    }
  }

  let litLen: Uint8Array = FIXED
  let litBook: Uint16Array = FIXED_LIT_CODES
  let distLen: Uint8Array = FIXED.subarray(288)
  let distBook: Uint16Array = FIXED_DIST_CODES
  // BFINAL = 1, BTYPE = 01 (fixed) or 10 (dynamic).
  put(dynamic ? 5 : 3, 3)
  if (dynamic) {
    litLen = lengths
    litBook = canonicalCodes(lengths.subarray(0, 286), litCodes)
    distLen = lengths.subarray(286)
    distBook = canonicalCodes(distLen, distCodes)
    put(hlit - 257, 5)
    put(hdist - 1, 5)
    put(hclen - 4, 4)
    for (let i = 0; i < hclen; i++) put(clenLengths[CLEN_ORDER[i]!]!, 3)
    canonicalCodes(clenLengths, clenCodes)
    for (const r of runs) {
      const c = r & 31
      put(clenCodes[c]!, clenLengths[c]!)
      if (c >= 16) put(r >> 5, c === 16 ? 2 : c === 17 ? 3 : 7)
    }
  }
  for (let k = 0; k < count; k++) {
    const s = symbols[k]!
    if (s < 256) {
      put(litBook[s]!, litLen[s]!)
      continue
    }
    const len = s >>> 16
    const dist = s & 0xffff
    const lc = LENGTH_CODE[len]!
    put(litBook[257 + lc]!, litLen[257 + lc]!)
    put(len - LENGTH_BASE[lc]!, LENGTH_EXTRA[lc]!)
    const dc = distCode(dist)
    put(distBook[dc]!, distLen[dc]!)
    put(dist - DIST_BASE[dc]!, DIST_EXTRA[dc]!)
  }
  put(litBook[END_OF_BLOCK]!, litLen[END_OF_BLOCK]!)
  if (bits > 0) out[pos++] = acc & 255
  return out
}

// ---- decompress --------------------------------------------------------------------------------

/** A canonical Huffman code as puff.c decodes it: how many codes of each length, and the symbols in code order. */
interface Decoder {
  count: Uint16Array
  symbol: Uint16Array
}

const newDecoder = (): Decoder => ({ count: new Uint16Array(16), symbol: new Uint16Array(288) })

/** Fills `into` with the code of `lengths` (a new decoder by default). */
function decoder(lengths: Uint8Array, into = newDecoder()): Decoder {
  const count = into.count.fill(0)
  for (const len of lengths) count[len] = count[len]! + 1
  let left = 1
  for (let len = 1; len < 16; len++) {
    left = (left << 1) - count[len]!
    // More codes of a length than the lengths above leave room for: no prefix code does that.
    if (left < 0) throw new RangeError('invalid DEFLATE data: over-subscribed code')
  }
  const offsets = codeNext.fill(0)
  for (let len = 1; len < 15; len++) offsets[len + 1] = offsets[len]! + count[len]!
  const { symbol } = into
  for (let s = 0; s < lengths.length; s++) if (lengths[s]) symbol[offsets[lengths[s]!]!++] = s
  return into
}

const FIXED_LIT = decoder(FIXED.subarray(0, 288))
const FIXED_DIST = decoder(FIXED.subarray(288))
/** The codes of the dynamic block being read (working arrays, as above). */
const blockLit = newDecoder()
const blockDist = newDecoder()
const blockClen = newDecoder()
const blockClenLengths = new Uint8Array(19)
const blockLengths = new Uint8Array(MAX_SYMBOLS + 30)

/**
 * Inflates raw DEFLATE `data`, or returns `null` when the output would pass `limit` bytes (a decompression bomb).
 * The output buffer grows with the output (doubling), never past `limit`. Throws a `RangeError` on data that is not DEFLATE.
 */
export function inflateRaw(data: Uint8Array, limit: number): Uint8Array | null {
  let out = new Uint8Array(Math.min(limit, Math.max(1024, data.length * 8)))
  let pos = 0
  let inPos = 0
  let acc = 0
  let bits = 0
  const fail = (why: string): never => {
    throw new RangeError(`invalid DEFLATE data: ${why}`)
  }
  const need = (width: number): number => {
    while (bits < width) {
      if (inPos >= data.length) fail('unexpected end')
      acc |= data[inPos++]! << bits
      bits += 8
    }
    const value = acc & ((1 << width) - 1)
    acc >>>= width
    bits -= width
    return value
  }
  /** Room for `more` bytes of output; false once they would pass `limit`. */
  const room = (more: number): boolean => {
    if (pos + more > limit) return false
    if (pos + more > out.length) {
      const grown = new Uint8Array(Math.min(limit, Math.max(pos + more, out.length * 2)))
      grown.set(out.subarray(0, pos))
      out = grown
    }
    return true
  }
  const decode = (h: Decoder): number => {
    let code = 0
    let first = 0
    let index = 0
    for (let len = 1; len < 16; len++) {
      // One bit at a time, inline: this loop is most of the time spent inflating.
      if (bits === 0) {
        if (inPos >= data.length) fail('unexpected end')
        acc = data[inPos++]!
        bits = 8
      }
      code |= acc & 1
      acc >>>= 1
      bits--
      const n = h.count[len]!
      if (code - first < n) return h.symbol[index + code - first]!
      index += n
      first = (first + n) << 1
      code <<= 1
    }
    return fail('no such code')
  }

  let last = 0
  while (!last) {
    last = need(1)
    const type = need(2)
    if (type === 0) {
      // Stored: the rest of this byte is padding, then LEN and its complement, then LEN bytes as they are.
      acc = 0
      bits = 0
      if (inPos + 4 > data.length) fail('unexpected end')
      const len = data[inPos]! | (data[inPos + 1]! << 8)
      if ((data[inPos + 2]! | (data[inPos + 3]! << 8)) !== (~len & 0xffff)) fail('stored length mismatch')
      inPos += 4
      if (inPos + len > data.length) fail('unexpected end')
      if (!room(len)) return null
      out.set(data.subarray(inPos, inPos + len), pos)
      pos += len
      inPos += len
      continue
    }
    let lit = FIXED_LIT
    let dist = FIXED_DIST
    if (type === 2) {
      const hlit = need(5) + 257
      const hdist = need(5) + 1
      const hclen = need(4) + 4
      if (hlit > 286 || hdist > 30) fail('too many codes')
      const clen = blockClenLengths.fill(0)
      for (let i = 0; i < hclen; i++) clen[CLEN_ORDER[i]!] = need(3)
      const clenDecoder = decoder(clen, blockClen)
      const lengths = blockLengths.subarray(0, hlit + hdist)
      for (let i = 0; i < lengths.length; ) {
        const sym = decode(clenDecoder)
        if (sym < 16) {
          lengths[i++] = sym
          continue
        }
        if (sym === 16 && i === 0) fail('repeat with no length before it')
        const value = sym === 16 ? lengths[i - 1]! : 0
        const times = sym === 16 ? 3 + need(2) : sym === 17 ? 3 + need(3) : 11 + need(7)
        if (i + times > lengths.length) fail('code lengths overrun')
        lengths.fill(value, i, i + times)
        i += times
      }
      if (!lengths[END_OF_BLOCK]) fail('no end-of-block code')
      lit = decoder(lengths.subarray(0, hlit), blockLit)
      dist = decoder(lengths.subarray(hlit), blockDist)
    } else if (type !== 1) {
      fail('reserved block type')
    }
    for (;;) {
      const sym = decode(lit)
      if (sym < 256) {
        if (!room(1)) return null
        out[pos++] = sym
        continue
      }
      if (sym === END_OF_BLOCK) break
      const lc = sym - 257
      if (lc >= 29) fail('bad length code')
      const len = LENGTH_BASE[lc]! + need(LENGTH_EXTRA[lc]!)
      const dc = decode(dist)
      if (dc >= 30) fail('bad distance code')
      const back = DIST_BASE[dc]! + need(DIST_EXTRA[dc]!)
      if (back > pos) fail('distance before the start')
      if (!room(len)) return null
      for (let k = 0; k < len; k++, pos++) out[pos] = out[pos - back]!
    }
  }
  return out.subarray(0, pos)
}
