/// Parses and validates GGUF v1-v3 (both byte orders) from raw bytes, following ggml's `gguf.cpp`
/// rules (and reporting as anomalies what the spec allows but llama.cpp refuses).
///
/// Every count and length is checked against its cap and the bytes that remain before anything is
/// allocated; every size computation is overflow-checked. Nothing here traps on any input.
public enum GGUFParser {
  /// ggml's GGUF_MAX_STRING_LENGTH (1 GiB).
  public static let maxStringLength = 1 << 30
  /// ggml's GGUF_MAX_ARRAY_ELEMENTS.
  public static let maxArrayCount = 1 << 30
  /// Dimensions beyond this are an error; beyond ggml's 4 an anomaly.
  public static let maxDimensions = 8
  /// ggml's GGML_MAX_DIMS: llama.cpp refuses more.
  public static let ggmlMaxDimensions = 4
  /// Nested array depth cap (ggml allows none, the spec any).
  public static let maxArrayDepth = 4
  /// ggml's GGML_MAX_NAME: names must be shorter.
  public static let ggmlMaxNameLength = 64
  /// Default data alignment.
  public static let defaultAlignment = 32

  static let magic: UInt32 = 0x4655_4747  // "GGUF" read little-endian

  /// Parses `bytes` as a complete GGUF file.
  /// - Throws: ``GGUFError`` with the absolute offset of the first violation.
  /// - Complexity: O(header bytes + tensor count · log(tensor count)).
  public static func parse(_ bytes: UnsafeRawBufferPointer) throws(GGUFError) -> GGUFLayout {
    var r = ByteReader(bytes)
    var anomalies: [Anomaly] = []

    let m: UInt32 = try r.read()
    guard m == magic else { throw .badMagic(found: UInt32(bigEndian: m)) }
    let versionOffset = r.offset
    let rawVersion: UInt32 = try r.read()
    var version = rawVersion
    if rawVersion & 0xFFFF == 0, (1...3).contains(rawVersion.byteSwapped) {
      r.bigEndian = true
      version = rawVersion.byteSwapped
      anomalies.append(Anomaly(.ggufBigEndian, at: versionOffset,
        "big-endian GGUF v\(version): llama.cpp refuses files of the other byte order"))
    }
    guard (1...3).contains(version) else { throw .unsupportedVersion(offset: versionOffset, version: rawVersion) }
    let v1 = version == 1
    if version < 3 {
      anomalies.append(Anomaly(.ggufLegacyVersion, at: versionOffset,
        v1 ? "GGUF v1 (32-bit counts): current llama.cpp and gguf-py refuse it" : "GGUF v2: older format revision"))
    }

    // Counts: ggml reads them as int64 and rejects negatives; we also bound them by the bytes left.
    let tensorCountOffset = r.offset
    let rawTensorCount = v1 ? UInt64(try r.read(UInt32.self)) : try r.read(UInt64.self)
    let kvCountOffset = r.offset
    let rawKVCount = v1 ? UInt64(try r.read(UInt32.self)) : try r.read(UInt64.self)
    let minKV = v1 ? 4 + 4 + 1 : 8 + 4 + 1  // empty key impossible, but count it as the bound
    let minTensor = v1 ? 4 + 4 + 4 + 8 : 8 + 4 + 4 + 8
    guard rawKVCount <= UInt64(r.remaining / minKV) else {
      throw .lengthTooLarge(offset: kvCountOffset, field: "metadata_kv_count", value: rawKVCount, limit: r.remaining / minKV)
    }
    let kvCount = Int(rawKVCount)  // can't trap: bounded by remaining bytes above
    // Tensor infos follow the KV section, so at this point we can only bound by all remaining bytes.
    guard rawTensorCount <= UInt64(r.remaining / minTensor) else {
      throw .lengthTooLarge(offset: tensorCountOffset, field: "tensor_count", value: rawTensorCount, limit: r.remaining / minTensor)
    }
    let tensorCount = Int(rawTensorCount)

    // MARK: metadata
    var metadata: [GGUFMetadataEntry] = []
    metadata.reserveCapacity(kvCount)
    var keyIndex: [String: Int] = [:]
    keyIndex.reserveCapacity(kvCount)
    for index in 0..<kvCount {
      let entryOffset = r.offset
      let key = try readString(&r, v1: v1, field: "kv[\(index)].key")
      guard !key.isEmpty else { throw .emptyKey(offset: entryOffset) }
      if let first = keyIndex[key] {
        let firstKey = metadata[first].key
        guard firstKey.hasSameBytes(as: key) else {
          throw .equivalentKeys(offset: entryOffset, key: key, firstKey: firstKey, firstOffset: metadata[first].byteOffset)
        }
        throw .duplicateKey(offset: entryOffset, key: key, firstOffset: metadata[first].byteOffset)
      }
      let typeOffset = r.offset
      let rawType: UInt32 = try r.read()
      guard let type = GGUFValueType(rawValue: rawType) else {
        throw .unknownValueType(offset: typeOffset, key: key, type: rawType)
      }
      let valueOffset = r.offset
      let value = try readValue(&r, type: type, v1: v1, key: key, depth: 0, anomalies: &anomalies)
      keyIndex[key] = metadata.count
      metadata.append(GGUFMetadataEntry(key: key, value: value, byteOffset: entryOffset, valueByteOffset: valueOffset))
    }

    // MARK: alignment
    var alignment = defaultAlignment
    if let i = keyIndex["general.alignment"] {
      let e = metadata[i]
      guard case .uint32(let a) = e.value else {
        throw .invalidAlignment(offset: e.valueByteOffset, detail: "has type \(e.value.type.name), must be UINT32")
      }
      guard a != 0, a & (a &- 1) == 0 else {
        throw .invalidAlignment(offset: e.valueByteOffset, detail: "is \(a), must be a non-zero power of two")
      }
      alignment = Int(a)
    }

    // MARK: tensor infos
    guard tensorCount <= r.remaining / minTensor else {
      throw .lengthTooLarge(offset: tensorCountOffset, field: "tensor_count", value: rawTensorCount, limit: r.remaining / minTensor)
    }
    struct Pending { var name: String; var type: GGMLType; var dims: [Int]; var elements: Int; var bytes: Int; var rel: UInt64; var infoOffset: Int }
    var pending: [Pending] = []
    pending.reserveCapacity(tensorCount)
    var tensorIndex: [String: Int] = [:]
    tensorIndex.reserveCapacity(tensorCount)
    for index in 0..<tensorCount {
      let infoOffset = r.offset
      let name = try readString(&r, v1: v1, field: "tensor[\(index)].name")
      if let first = tensorIndex[name] {
        let firstName = pending[first].name
        guard firstName.hasSameBytes(as: name) else {
          throw .equivalentTensorNames(offset: infoOffset, tensor: name, firstTensor: firstName, firstOffset: pending[first].infoOffset)
        }
        throw .duplicateTensorName(offset: infoOffset, tensor: name, firstOffset: pending[first].infoOffset)
      }
      if name.utf8.count >= ggmlMaxNameLength {
        anomalies.append(Anomaly(.ggufLongTensorName, at: infoOffset, subject: name,
          "tensor name is \(name.utf8.count) bytes; llama.cpp refuses names of \(ggmlMaxNameLength) bytes or more"))
      }
      let dimsOffset = r.offset
      let nDims: UInt32 = try r.read()
      guard nDims <= UInt32(maxDimensions) else {
        throw .tooManyDimensions(offset: dimsOffset, tensor: name, count: nDims, limit: maxDimensions)
      }
      if nDims > UInt32(ggmlMaxDimensions) {
        anomalies.append(Anomaly(.ggufTooManyDimensions, at: dimsOffset, subject: name,
          "tensor has \(nDims) dimensions; llama.cpp refuses more than \(ggmlMaxDimensions)"))
      }
      var dims: [Int] = []
      dims.reserveCapacity(Int(nDims))
      var elements = 1
      var overflow = false
      for d in 0..<Int(nDims) {
        let dimOffset = r.offset
        let raw = v1 ? UInt64(try r.read(UInt32.self)) : try r.read(UInt64.self)
        guard let dim = Int(exactly: raw), dim <= Int(Int64.max) else {
          throw .invalidDimension(offset: dimOffset, tensor: name, index: d, value: raw)
        }
        dims.append(dim)
        let (p, o) = elements.multipliedReportingOverflow(by: dim)
        elements = p
        overflow = overflow || o
      }
      guard !overflow else { throw .sizeOverflow(offset: dimsOffset, tensor: name) }
      let typeOffset = r.offset
      let rawType: UInt32 = try r.read()
      guard let type = GGMLType(rawValue: rawType) else {
        throw .unknownTensorType(offset: typeOffset, tensor: name, type: rawType)
      }
      guard !type.isRemoved else {
        throw .removedTensorType(offset: typeOffset, tensor: name, type: rawType, name: type.name)
      }
      let rowLength = dims.first ?? 1
      guard rowLength % type.blockSize == 0 else {
        throw .partialBlock(offset: dimsOffset, tensor: name, rowLength: rowLength, blockSize: type.blockSize)
      }
      guard let byteCount = type.byteCount(elements: elements) else {
        throw .sizeOverflow(offset: dimsOffset, tensor: name)
      }
      let rel: UInt64 = try r.read()
      tensorIndex[name] = pending.count
      pending.append(Pending(name: name, type: type, dims: dims, elements: elements, bytes: byteCount, rel: rel, infoOffset: infoOffset))
    }
    let headerEnd = r.offset

    // MARK: data section
    // ggml pads to the alignment only when there are tensors; vocab-only files may end right here.
    guard let dataOffset = padded(headerEnd, to: alignment) else {
      throw .invalidAlignment(offset: headerEnd, detail: "\(alignment) pushes the data section past 2^63")
    }
    let fileSize = bytes.count
    if tensorCount > 0, dataOffset > headerEnd, dataOffset <= fileSize,
      !allZero(bytes, headerEnd..<dataOffset)
    {
      anomalies.append(Anomaly(.ggufNonZeroPadding, at: headerEnd,
        "padding before the data section (\(dataOffset - headerEnd) bytes) is not all zero"))
    }

    var tensors: [GGUFTensorInfo] = []
    tensors.reserveCapacity(tensorCount)
    var expected = 0  // ggml's contiguity rule: each offset equals the padded sum of the previous sizes
    var reportedNonContiguous = false
    var dataByteCount = 0
    for t in pending {
      let relOffsetField = t.infoOffset  // point at the record; the exact field offset is in the message
      guard t.rel % UInt64(alignment) == 0 else {
        throw .misalignedTensor(offset: relOffsetField, tensor: t.name, dataOffset: t.rel, alignment: alignment)
      }
      guard let rel = Int(exactly: t.rel) else {
        throw .tensorOutOfBounds(offset: relOffsetField, tensor: t.name, start: t.rel, end: t.rel, fileSize: fileSize)
      }
      let (start, o1) = dataOffset.addingReportingOverflow(rel)
      let (end, o2) = start.addingReportingOverflow(t.bytes)
      guard !o1, !o2, end <= fileSize else {
        let s = o1 ? UInt64.max : UInt64(start)
        throw .tensorOutOfBounds(offset: relOffsetField, tensor: t.name, start: s,
                                 end: (o1 || o2) ? UInt64.max : UInt64(end), fileSize: fileSize)
      }
      if rel != expected, !reportedNonContiguous {
        reportedNonContiguous = true
        anomalies.append(Anomaly(.ggufNonContiguousOffset, at: relOffsetField, subject: t.name,
          "tensor data offset is \(rel), llama.cpp expects \(expected) (offsets must be contiguous in declaration order)"))
      }
      // can't overflow: end <= fileSize, so the padded size of an in-file tensor fits
      expected = (padded(max(expected, rel) &+ t.bytes, to: alignment) ?? Int.max)
      dataByteCount &+= t.bytes
      tensors.append(GGUFTensorInfo(name: t.name, type: t.type, dimensions: t.dims, elementCount: t.elements,
        byteCount: t.bytes, relativeOffset: rel, absoluteOffset: start, infoByteOffset: t.infoOffset))
    }

    // Overlaps, gaps and trailing bytes, in address order.
    let order = tensors.indices.sorted { tensors[$0].absoluteOffset < tensors[$1].absoluteOffset }
    var cursor = dataOffset
    var previous: Int? = nil
    var gapReported = false
    for i in order where tensors[i].byteCount > 0 {
      let t = tensors[i]
      if let p = previous, t.absoluteOffset < cursor {
        throw .overlappingTensors(offset: t.infoByteOffset, tensor: t.name, other: tensors[p].name)
      }
      if t.absoluteOffset > cursor, !gapReported {
        // Alignment padding between tensors is expected; anything else is unexplained bytes.
        if let alignedCursor = padded(cursor, to: alignment), t.absoluteOffset > alignedCursor {
          gapReported = true
          anomalies.append(Anomaly(.ggufGapBetweenTensors, at: alignedCursor, subject: t.name,
            "\(t.absoluteOffset - alignedCursor) unexplained bytes before tensor '\(t.name)' (not referenced by any tensor)"))
        } else if !allZero(bytes, cursor..<t.absoluteOffset) {
          gapReported = true
          anomalies.append(Anomaly(.ggufNonZeroPadding, at: cursor, subject: t.name,
            "alignment padding before tensor '\(t.name)' is not all zero"))
        }
      }
      cursor = t.absoluteOffset &+ t.byteCount
      previous = i
    }
    let end = tensorCount > 0 ? cursor : headerEnd
    if let paddedEnd = padded(end, to: alignment), fileSize > paddedEnd {
      anomalies.append(Anomaly(.ggufTrailingBytes, at: paddedEnd,
        "\(fileSize - paddedEnd) bytes after the last tensor's data are not part of any tensor"))
    } else if fileSize > end, !allZero(bytes, end..<fileSize) {
      anomalies.append(Anomaly(.ggufNonZeroPadding, at: end, "final padding is not all zero"))
    }

    return GGUFLayout(version: version, byteOrder: r.bigEndian ? .big : .little, metadata: metadata, tensors: tensors,
      alignment: alignment, dataOffset: dataOffset, headerEndOffset: headerEnd, tensorDataByteCount: dataByteCount,
      fileSize: fileSize, anomalies: anomalies, keyIndex: keyIndex, tensorIndex: tensorIndex)
  }

  // MARK: - helpers

  static func padded(_ x: Int, to alignment: Int) -> Int? {
    let (s, o) = x.addingReportingOverflow(alignment &- 1)
    return o ? nil : s / alignment * alignment
  }

  private static func allZero(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
    guard range.lowerBound >= 0, range.upperBound <= bytes.count else { return true }
    for i in range where bytes[i] != 0 { return false }
    return true
  }

  static func readString(_ r: inout ByteReader, v1: Bool, field: @autoclosure () -> String) throws(GGUFError) -> String {
    let lengthOffset = r.offset
    let raw = v1 ? UInt64(try r.read(UInt32.self)) : try r.read(UInt64.self)
    let limit = min(maxStringLength, r.remaining)
    guard raw <= UInt64(limit) else {
      throw .lengthTooLarge(offset: lengthOffset, field: field() + " length", value: raw, limit: limit)
    }
    let chunk = try r.slice(Int(raw))
    // Fast path: most keys, names and vocabulary entries are ASCII, which is valid UTF-8 as it stands.
    var ascii = true
    for b in chunk where b >= 0x80 { ascii = false; break }
    if ascii { return String(unsafeUninitializedCapacity: chunk.count) { dst in
      // can't overflow: dst has exactly chunk.count bytes of capacity
      _ = dst.initialize(fromContentsOf: chunk)
      return chunk.count
    } }
    guard let s = String(validating: chunk, as: UTF8.self) else {
      throw .invalidUTF8(offset: lengthOffset &+ (v1 ? 4 : 8), field: field())
    }
    return s
  }

  private static func readValue(
    _ r: inout ByteReader, type: GGUFValueType, v1: Bool, key: String, depth: Int, anomalies: inout [Anomaly]
  ) throws(GGUFError) -> GGUFValue {
    switch type {
    case .uint8: return .uint8(try r.read())
    case .int8: return .int8(try r.read())
    case .uint16: return .uint16(try r.read())
    case .int16: return .int16(try r.read())
    case .uint32: return .uint32(try r.read())
    case .int32: return .int32(try r.read())
    case .uint64: return .uint64(try r.read())
    case .int64: return .int64(try r.read())
    case .float32: return .float32(Float(bitPattern: try r.read()))
    case .float64: return .float64(Double(bitPattern: try r.read()))
    case .bool:
      let at = r.offset
      let b: UInt8 = try r.read()
      if b > 1 {
        anomalies.append(Anomaly(.ggufInvalidBool, at: at, subject: key, "BOOL value is \(b), not 0 or 1"))
      }
      return .bool(b != 0)
    case .string: return .string(try readString(&r, v1: v1, field: "value of '\(key)'"))
    case .array: return .array(try readArray(&r, v1: v1, key: key, depth: depth + 1, anomalies: &anomalies))
    }
  }

  private static func readArray(
    _ r: inout ByteReader, v1: Bool, key: String, depth: Int, anomalies: inout [Anomaly]
  ) throws(GGUFError) -> GGUFArray {
    let headerOffset = r.offset
    guard depth <= maxArrayDepth else { throw .arrayNestingTooDeep(offset: headerOffset, key: key, limit: maxArrayDepth) }
    let rawType: UInt32 = try r.read()
    guard let elementType = GGUFValueType(rawValue: rawType) else {
      throw .unknownValueType(offset: headerOffset, key: key, type: rawType)
    }
    let countOffset = r.offset
    let rawCount = v1 ? UInt64(try r.read(UInt32.self)) : try r.read(UInt64.self)
    // Bound by the smallest possible encoding of each element (ggml: n * 8 for strings).
    let minElement: Int
    switch elementType {
    case .string: minElement = v1 ? 4 : 8
    case .array: minElement = v1 ? 8 : 12
    default: minElement = elementType.fixedSize ?? 1
    }
    let limit = min(maxArrayCount, r.remaining / minElement)
    guard rawCount <= UInt64(limit) else {
      throw .lengthTooLarge(offset: countOffset, field: "array length of '\(key)'", value: rawCount, limit: limit)
    }
    let n = Int(rawCount)
    if elementType == .array, depth == 1 {
      anomalies.append(Anomaly(.ggufNestedArray, at: headerOffset, subject: key,
        "array of arrays: allowed by the spec, refused by llama.cpp's loader"))
    }
    switch elementType {
    case .uint8: return .uint8(try readFixed(&r, n))
    case .int8: return .int8(try readFixed(&r, n))
    case .uint16: return .uint16(try readFixed(&r, n))
    case .int16: return .int16(try readFixed(&r, n))
    case .uint32: return .uint32(try readFixed(&r, n))
    case .int32: return .int32(try readFixed(&r, n))
    case .uint64: return .uint64(try readFixed(&r, n))
    case .int64: return .int64(try readFixed(&r, n))
    case .float32: return .float32((try readFixed(&r, n) as [UInt32]).map { Float(bitPattern: $0) })
    case .float64: return .float64((try readFixed(&r, n) as [UInt64]).map { Double(bitPattern: $0) })
    case .bool:
      let raw: [UInt8] = try readFixed(&r, n)
      if let bad = raw.firstIndex(where: { $0 > 1 }) {
        anomalies.append(Anomaly(.ggufInvalidBool, at: countOffset &+ (v1 ? 4 : 8) &+ bad, subject: key,
          "BOOL array element \(bad) is \(raw[bad]), not 0 or 1"))
      }
      return .bool(raw.map { $0 != 0 })
    case .string:
      var out: [String] = []
      out.reserveCapacity(n)
      for i in 0..<n { out.append(try readString(&r, v1: v1, field: "'\(key)'[\(i)]")) }
      return .string(out)
    case .array:
      var out: [GGUFArray] = []
      out.reserveCapacity(n)
      for _ in 0..<n { out.append(try readArray(&r, v1: v1, key: key, depth: depth + 1, anomalies: &anomalies)) }
      return .array(out)
    }
  }

  private static func readFixed<T: FixedWidthInteger>(_ r: inout ByteReader, _ n: Int) throws(GGUFError) -> [T] {
    let size = MemoryLayout<T>.size
    let (total, o) = n.multipliedReportingOverflow(by: size)
    guard !o else { throw .lengthTooLarge(offset: r.offset, field: "array", value: UInt64(n), limit: r.remaining / size) }
    let chunk = try r.slice(total)
    let big = r.bigEndian
    return [T](unsafeUninitializedCapacity: n) { buf, count in
      for i in 0..<n {
        let v = chunk.loadUnaligned(fromByteOffset: i &* size, as: T.self)
        buf[i] = big ? T(bigEndian: v) : T(littleEndian: v)
      }
      count = n
    }
  }
}
