/// Walks pickle opcodes (protocols 0-5) without executing them, simulating just enough of the
/// unpickler's stack and memo to name what a pickle would import and call.
///
/// Semantics follow CPython's `Unpickler` (`Lib/pickle.py`, `Modules/_pickle.c`): MARK opens a frame,
/// opcodes see only the items above the topmost MARK, POP on an empty frame pops the MARK, STACK_GLOBAL
/// needs two `str` operands, STRING / UNICODE arguments are unescaped (`codecs.escape_decode`,
/// `raw_unicode_escape`) before they can name a module. Nothing is judged here: a detector decides
/// which globals and calls are dangerous.
public enum PickleDisassembler {
  /// Disassembles one pickle starting at `startOffset`, throwing on the first malformed opcode.
  /// - Returns: the disassembly up to and including STOP.
  /// - Throws: `.pickleUnknownOpcode`, `.truncated`, `.pickleMissingStop`, `.pickleMalformedArgument`,
  ///   `.pickleStackUnderflow`, `.pickleMemoKeyMissing`, `.pickleLimitExceeded`, `.pickleUnsupportedProtocol`,
  ///   `.lengthTooLarge` — each with the byte offset of the opcode or argument.
  /// - Complexity: O(bytes + instructions).
  public static func disassemble(
    _ bytes: UnsafeRawBufferPointer, startOffset: Int = 0, limits: PickleLimits = PickleLimits()
  ) throws(ContainerError) -> PickleDisassembly {
    let result = scan(bytes, startOffset: startOffset, limits: limits)
    if let error = result.error { throw error }
    return result
  }

  /// Like `disassemble`, but returns what was learned before an error, with the error in `.error`.
  ///
  /// An unpickler runs every opcode before the bad one, so globals and calls found before the error are
  /// real: a scanner must see them.
  public static func scan(
    _ bytes: UnsafeRawBufferPointer, startOffset: Int = 0, limits: PickleLimits = PickleLimits()
  ) -> PickleDisassembly {
    var machine = PickleMachine(bytes: bytes, start: startOffset, limits: limits)
    var error: ContainerError?
    do { try machine.run() } catch let e { error = e }
    return machine.result(error: error)
  }

  /// Disassembles consecutive pickles (legacy `torch.save` writes five, then raw storage bytes),
  /// stopping after the first one that fails, at the end of the bytes, or after `maxPickles`.
  public static func scanSequence(
    _ bytes: UnsafeRawBufferPointer, startOffset: Int = 0, maxPickles: Int = 16, limits: PickleLimits = PickleLimits()
  ) -> [PickleDisassembly] {
    var out: [PickleDisassembly] = []
    var at = startOffset
    while out.count < maxPickles, at >= 0, at < bytes.count {
      let d = scan(bytes, startOffset: at, limits: limits)
      out.append(d)
      if d.error != nil || d.endOffset <= at { break }
      at = d.endOffset
    }
    return out
  }
}

/// A value on the simulated stack: only what matters to name globals and callees.
enum PickleValue {
  case string(String)
  case longString(Int)  // byte count of a str we did not keep
  case bytes, int, bool, none, float
  case tuple, list, dict, set, frozenSet, buffer
  case global(Int)  // index into `PickleMachine.globals` (keeps the enum small: copies are cheap)
  case callResult(Int)
  case persistent(Int)
  case ext(Int)
  case unresolvedGlobal(Int)

  var kindName: String {
    switch self {
    case .string, .longString: "str"
    case .bytes: "bytes"
    case .int: "int"
    case .bool: "bool"
    case .none: "None"
    case .float: "float"
    case .tuple: "tuple"
    case .list: "list"
    case .dict: "dict"
    case .set: "set"
    case .frozenSet: "frozenset"
    case .buffer: "buffer"
    case .global: "global"
    case .callResult: "call result"
    case .persistent: "persistent object"
    case .ext: "extension object"
    case .unresolvedGlobal: "unresolved global"
    }
  }

  func asCallee(_ globals: [PickleGlobalReference]) -> PickleCallee {
    switch self {
    case .global(let i): i < globals.count ? .global(globals[i]) : .other("global")
    case .callResult(let o): .returnValue(ofCallAt: o)
    case .persistent(let o): .persistentObject(loadedAt: o)
    case .ext(let c): .extensionObject(code: c)
    case .unresolvedGlobal(let o): .unresolvedGlobal(at: o)
    default: .other(kindName)
    }
  }

  /// True for objects whose methods APPEND/SETITEM/BUILD would look up dynamically.
  var isArbitraryObject: Bool {
    switch self {
    case .global, .callResult, .persistent, .ext, .unresolvedGlobal: true
    default: false
    }
  }
}

struct PickleMachine {
  var r: ContainerByteReader
  let start: Int
  let limits: PickleLimits
  var stack: [PickleValue] = []
  var marks: [Int] = []
  /// The memo: dense keys (what picklers write: 0, 1, 2...) in an array, any other key in a dictionary.
  var denseMemo: [PickleValue?] = []
  var sparseMemo: [Int: PickleValue] = [:]
  var memoCount = 0
  var instructions: [PickleInstruction] = []
  var instructionCount = 0
  var globals: [PickleGlobalReference] = []
  var calls: [PickleCall] = []
  var unresolved: [PickleUnresolvedGlobal] = []
  var persistent: [Int] = []
  var extensions: [PickleExtensionReference] = []
  var protocolVersion: Int?
  var currentProtocol = 0
  var highestProtocol = 0
  var maxDepth = 0
  var retainedBytes = 0
  var leftover = 0
  var opcodeOffset = 0
  var current: PickleOpcode = .stop

  init(bytes: UnsafeRawBufferPointer, start: Int, limits: PickleLimits) {
    r = ContainerByteReader(bytes, offset: start)
    self.start = r.offset
    self.limits = limits
    opcodeOffset = r.offset
  }

  func result(error: ContainerError?) -> PickleDisassembly {
    PickleDisassembly(
      startOffset: start, endOffset: error == nil ? r.offset : opcodeOffset, protocolVersion: protocolVersion,
      highestOpcodeProtocol: highestProtocol, instructions: instructions, instructionCount: instructionCount,
      globals: globals, calls: calls, unresolvedGlobals: unresolved, persistentLoadOffsets: persistent,
      extensionCodes: extensions, maxStackDepth: maxDepth, leftoverStackItems: leftover, error: error)
  }

  // MARK: - Stack

  var frameStart: Int { marks.last ?? 0 }
  var available: Int { stack.count &- frameStart }  // can't overflow: frameStart <= stack.count

  mutating func push(_ v: PickleValue) throws(ContainerError) {
    guard stack.count < limits.maxStackDepth else {
      throw .pickleLimitExceeded(offset: opcodeOffset, limit: "stack depth", value: limits.maxStackDepth)
    }
    stack.append(v)
    if stack.count > maxDepth { maxDepth = stack.count }
  }

  func underflow(_ needed: Int) -> ContainerError {
    .pickleStackUnderflow(offset: opcodeOffset, opcode: current.name, needed: needed, available: available)
  }

  mutating func pop() throws(ContainerError) -> PickleValue {
    guard available > 0, let v = stack.popLast() else { throw underflow(1) }
    return v
  }

  func top() throws(ContainerError) -> PickleValue {
    guard available > 0, let v = stack.last else { throw underflow(1) }
    return v
  }

  /// Pops the topmost MARK frame; returns how many items it held and the first (bottom) one.
  /// (No slice of the stack is kept: holding one would make the removal copy the whole stack.)
  @discardableResult
  mutating func popMark() throws(ContainerError) -> (count: Int, first: PickleValue?) {
    guard let m = marks.popLast() else {
      throw .pickleStackUnderflow(offset: opcodeOffset, opcode: current.name + " (no MARK)", needed: 1, available: 0)
    }
    let n = stack.count &- m  // can't overflow: marks are positions <= stack.count
    let first = n > 0 ? stack[m] : nil
    stack.removeSubrange(m...)
    return (n, first)
  }

  // MARK: - Arguments

  mutating func record(_ arg: PickleArgument) {
    if limits.recordInstructions {
      instructions.append(PickleInstruction(byteOffset: opcodeOffset, opcode: current, argument: arg))
    }
  }

  func malformed(_ detail: String) -> ContainerError {
    .pickleMalformedArgument(offset: opcodeOffset, opcode: current.name, detail: detail)
  }

  /// Keeps a decoded string if it fits the per-string and total budgets.
  mutating func retain(_ s: String, byteCount: Int) -> PickleValue {
    guard byteCount <= limits.maxRetainedStringBytes,
          byteCount <= limits.maxRetainedTotalBytes &- retainedBytes else { return .longString(byteCount) }
    retainedBytes &+= byteCount  // can't overflow: <= maxRetainedTotalBytes
    return .string(s)
  }

  mutating func readLength(_ raw: UInt64, field: String) throws(ContainerError) -> Int {
    guard let n = Int(exactly: raw), n <= r.remaining else {
      throw .lengthTooLarge(offset: r.absoluteOffset, field: "\(current.name) \(field)", value: raw, limit: r.remaining)
    }
    return n
  }

  /// A length-prefixed UTF-8 str (BINUNICODE family).
  mutating func readUTF8(_ n: Int) throws(ContainerError) -> (PickleValue, PickleArgument) {
    let at = r.absoluteOffset
    let slice = try r.readSlice(n)
    guard n <= limits.maxRetainedStringBytes else { return (.longString(n), .longText(byteOffset: at, byteCount: n)) }
    guard let s = String(validating: slice, as: UTF8.self) else { throw malformed("argument at byte \(at) is not valid UTF-8") }
    return (retain(s, byteCount: n), .text(s))
  }

  /// A length-prefixed byte string that Python 3 decodes to str (BINSTRING, SHORT_BINSTRING).
  mutating func readByteString(_ n: Int) throws(ContainerError) -> (PickleValue, PickleArgument) {
    let at = r.absoluteOffset
    let slice = try r.readSlice(n)
    guard n <= limits.maxRetainedStringBytes else { return (.longString(n), .longText(byteOffset: at, byteCount: n)) }
    let s = PickleText.latin1(slice)
    return (retain(s, byteCount: n), .text(s))
  }

  mutating func readLineText() throws(ContainerError) -> UnsafeRawBufferPointer {
    try r.readLine(maxBytes: limits.maxLineBytes)
  }

  mutating func readMemoKey(_ line: UnsafeRawBufferPointer) throws(ContainerError) -> Int {
    guard case .int(let v)? = PickleText.parseInt(line), let k = Int(exactly: v) else {
      throw malformed("memo key '\(PickleText.latin1(line))' is not an integer")
    }
    return k
  }

  func memoValue(_ key: Int) -> PickleValue? {
    if key >= 0, key < denseMemo.count { return denseMemo[key] }
    return sparseMemo[key]
  }

  mutating func memoGet(_ key: Int) throws(ContainerError) {
    guard let v = memoValue(key) else { throw .pickleMemoKeyMissing(offset: opcodeOffset, opcode: current.name, key: key) }
    record(.memoKey(key))
    try push(v)
  }

  mutating func memoPut(_ key: Int) throws(ContainerError) {
    guard key >= 0 else { throw malformed("negative memo key \(key)") }
    let v = try top()
    let isNew = memoValue(key) == nil
    if isNew {
      guard memoCount < limits.maxMemoEntries else {
        throw .pickleLimitExceeded(offset: opcodeOffset, limit: "memo entries", value: limits.maxMemoEntries)
      }
      memoCount &+= 1  // can't overflow: < maxMemoEntries
    }
    if key < denseMemo.count {
      denseMemo[key] = v
    } else if key == denseMemo.count, sparseMemo[key] == nil {
      denseMemo.append(v)  // grows by one per new key: bounded by maxMemoEntries
    } else {
      sparseMemo[key] = v
    }
    record(.memoKey(key))
  }

  mutating func call(_ callee: PickleCallee) {
    calls.append(PickleCall(byteOffset: opcodeOffset, opcode: current, callee: callee))
  }

  /// APPEND/SETITEM/... on an arbitrary object call that object's method: record it as a call.
  mutating func actOn(_ target: PickleValue) {
    if target.isArbitraryObject { call(target.asCallee(globals)) }
  }

  /// Records a global and returns its index in `globals`.
  mutating func global(module: String, name: String) -> Int {
    // CPython: `if self.proto < 3 and self.fix_imports` (proto is 0 until a PROTO opcode).
    let (m, n) = currentProtocol < 3 ? PicklePython2Names.map(module: module, name: name) : (module, name)
    let g = PickleGlobalReference(module: module, name: name, byteOffset: opcodeOffset, opcode: current,
                                  importedModule: m, importedName: n)
    globals.append(g)
    return globals.count &- 1
  }

  // MARK: - Main loop

  mutating func run() throws(ContainerError) {
    while true {
      opcodeOffset = r.offset
      guard let byte = r.peek(at: 0) else {
        throw r.offset == start ? .truncated(offset: r.absoluteOffset, needed: 1, available: 0) : .pickleMissingStop(offset: r.absoluteOffset)
      }
      guard let op = PickleOpcode(rawValue: byte) else { throw .pickleUnknownOpcode(offset: opcodeOffset, byte: byte) }
      guard instructionCount < limits.maxInstructions else {
        throw .pickleLimitExceeded(offset: opcodeOffset, limit: "instructions", value: limits.maxInstructions)
      }
      try r.skip(1)
      current = op
      instructionCount &+= 1  // can't overflow: bounded by maxInstructions
      if op.introducedInProtocol > highestProtocol { highestProtocol = op.introducedInProtocol }
      if try step(op) { return }
    }
  }

  /// Executes one opcode's stack effect; returns true at STOP.
  mutating func step(_ op: PickleOpcode) throws(ContainerError) -> Bool {
    switch op {
    case .mark:
      guard marks.count < limits.maxStackDepth else {
        throw .pickleLimitExceeded(offset: opcodeOffset, limit: "open MARKs", value: limits.maxStackDepth)
      }
      record(.none)
      marks.append(stack.count)
    case .stop:
      record(.none)
      _ = try pop()
      leftover = stack.count
      return true
    case .pop:
      record(.none)
      if available > 0 { _ = try pop() } else { try popMark() }
    case .popMark:
      record(.none)
      try popMark()
    case .dup:
      record(.none)
      try push(try top())
    case .float:
      let line = try readLineText()
      if let d = Double(PickleText.latin1(line).trimmingASCIIWhitespace()) { record(.float(d)) } else { record(.rawLine(PickleText.latin1(line))) }
      try push(.float)
    case .int:
      let line = try readLineText()
      if line.elementsEqual([0x30, 0x30]) || line.elementsEqual([0x30, 0x31]) {
        record(.int(line[1] == 0x31 ? 1 : 0))
        try push(.bool)
      } else {
        guard let arg = PickleText.parseInt(line, lineOffset: opcodeOffset &+ 1) else {
          throw malformed("'\(PickleText.latin1(line))' is not an integer")
        }
        record(arg)
        try push(.int)
      }
    case .long:
      var line = try readLineText()
      if line.last == 0x4C { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }  // trailing 'L'
      guard let arg = PickleText.parseInt(line, lineOffset: opcodeOffset &+ 1) else {
        throw malformed("'\(PickleText.latin1(line))' is not an integer")
      }
      record(arg)
      try push(.int)
    case .binInt:
      record(.int(Int64(try r.read(Int32.self))))
      try push(.int)
    case .binInt1:
      record(.int(Int64(try r.read(UInt8.self))))
      try push(.int)
    case .binInt2:
      record(.int(Int64(try r.read(UInt16.self))))
      try push(.int)
    case .long1, .long4:
      let n: Int
      if op == .long1 {
        n = Int(try r.read(UInt8.self))
      } else {
        let raw = try r.read(Int32.self)
        guard raw >= 0 else { throw malformed("negative byte count \(raw)") }
        n = try readLength(UInt64(raw), field: "byte count")
      }
      let at = r.absoluteOffset
      let slice = try r.readSlice(n)
      record(PickleText.twosComplement(slice).map { .int($0) } ?? .bigInt(byteOffset: at, byteCount: n))
      try push(.int)
    case .none:
      record(.none)
      try push(.none)
    case .newTrue, .newFalse:
      record(.none)
      try push(.bool)
    case .binFloat:
      let bits: UInt64 = try r.readBigEndian()
      record(.float(Double(bitPattern: bits)))
      try push(.float)
    case .string:
      let line = try readLineText()
      guard line.count >= 2, line[0] == line[line.count &- 1], line[0] == 0x27 || line[0] == 0x22 else {
        throw malformed("the STRING opcode argument must be quoted")
      }
      let inner = UnsafeRawBufferPointer(rebasing: line[1..<(line.count &- 1)])
      guard let decoded = PickleText.escapeDecode(inner) else { throw malformed("invalid \\x escape") }
      let s = PickleText.latin1(decoded)
      record(.text(s))
      try push(retain(s, byteCount: decoded.count))
    case .binString:
      let raw = try r.read(Int32.self)
      guard raw >= 0 else { throw malformed("negative length \(raw)") }
      let (v, a) = try readByteString(try readLength(UInt64(raw), field: "length"))
      record(a)
      try push(v)
    case .shortBinString:
      let (v, a) = try readByteString(Int(try r.read(UInt8.self)))
      record(a)
      try push(v)
    case .unicode:
      let line = try readLineText()
      guard let s = PickleText.rawUnicodeEscapeDecode(line) else { throw malformed("invalid \\u escape") }
      record(.text(s))
      try push(retain(s, byteCount: line.count))
    case .binUnicode:
      let (v, a) = try readUTF8(try readLength(UInt64(try r.read(UInt32.self)), field: "length"))
      record(a)
      try push(v)
    case .shortBinUnicode:
      let (v, a) = try readUTF8(Int(try r.read(UInt8.self)))
      record(a)
      try push(v)
    case .binUnicode8:
      let (v, a) = try readUTF8(try readLength(try r.read(UInt64.self), field: "length"))
      record(a)
      try push(v)
    case .binBytes, .shortBinBytes, .binBytes8, .byteArray8:
      let n: Int
      switch op {
      case .binBytes: n = try readLength(UInt64(try r.read(UInt32.self)), field: "length")
      case .shortBinBytes: n = Int(try r.read(UInt8.self))
      default: n = try readLength(try r.read(UInt64.self), field: "length")
      }
      let at = r.absoluteOffset
      try r.skip(n)
      record(.bytes(byteOffset: at, byteCount: n))
      try push(.bytes)
    case .emptyTuple:
      record(.none)
      try push(.tuple)
    case .emptyList:
      record(.none)
      try push(.list)
    case .emptyDict:
      record(.none)
      try push(.dict)
    case .emptySet:
      record(.none)
      try push(.set)
    case .tuple, .list, .frozenSet:
      record(.none)
      try popMark()
      try push(op == .tuple ? .tuple : op == .list ? .list : .frozenSet)
    case .dict:
      record(.none)
      let items = try popMark()
      guard items.count % 2 == 0 else { throw malformed("odd number of items (\(items.count)) for DICT") }
      try push(.dict)
    case .tuple1, .tuple2, .tuple3:
      record(.none)
      let n = op == .tuple1 ? 1 : op == .tuple2 ? 2 : 3
      guard available >= n else { throw underflow(n) }
      stack.removeLast(n)
      try push(.tuple)
    case .append:
      record(.none)
      _ = try pop()
      actOn(try top())
    case .appends, .addItems:
      record(.none)
      try popMark()
      actOn(try top())
    case .setItem:
      record(.none)
      guard available >= 3 else { throw underflow(3) }
      stack.removeLast(2)
      actOn(try top())
    case .setItems:
      record(.none)
      let items = try popMark()
      guard items.count % 2 == 0 else { throw malformed("odd number of items (\(items.count)) for SETITEMS") }
      actOn(try top())
    case .build:
      record(.none)
      guard available >= 2 else { throw underflow(2) }
      _ = try pop()
      call(try top().asCallee(globals))
    case .get:
      try memoGet(try readMemoKey(try readLineText()))
    case .binGet:
      try memoGet(Int(try r.read(UInt8.self)))
    case .longBinGet:
      try memoGet(Int(try r.read(UInt32.self)))
    case .put:
      try memoPut(try readMemoKey(try readLineText()))
    case .binPut:
      try memoPut(Int(try r.read(UInt8.self)))
    case .longBinPut:
      try memoPut(Int(try r.read(UInt32.self)))
    case .memoize:
      try memoPut(memoCount)  // CPython: memo[len(memo)]
    case .global, .inst:
      let moduleLine = try readLineText()
      let nameLine = try readLineText()
      // CPython decodes GLOBAL's lines as UTF-8 and INST's as ASCII.
      let module = op == .global ? String(validating: moduleLine, as: UTF8.self) : PickleText.ascii(moduleLine)
      let name = op == .global ? String(validating: nameLine, as: UTF8.self) : PickleText.ascii(nameLine)
      guard let module, let name else { throw malformed("module or name is not valid \(op == .global ? "UTF-8" : "ASCII")") }
      record(.global(module: module, name: name))
      let g = global(module: module, name: name)
      if op == .global {
        try push(.global(g))
      } else {
        try popMark()
        call(.global(globals[g]))
        try push(.callResult(opcodeOffset))
      }
    case .stackGlobal:
      record(.none)
      guard available >= 2 else { throw underflow(2) }
      let nameValue = try pop()
      let moduleValue = try pop()
      switch (moduleValue, nameValue) {
      case (.string(let m), .string(let n)):
        try push(.global(global(module: m, name: n)))
      case (.string, .longString(let c)), (.longString(let c), .string), (.longString(let c), .longString):
        unresolved.append(PickleUnresolvedGlobal(byteOffset: opcodeOffset, detail: "operand is a \(c)-byte str (not retained)"))
        try push(.unresolvedGlobal(opcodeOffset))
      default:
        throw malformed("STACK_GLOBAL requires str (module is \(moduleValue.kindName), name is \(nameValue.kindName))")
      }
    case .reduce:
      record(.none)
      guard available >= 2 else { throw underflow(2) }
      _ = try pop()
      let f = try pop()
      call(f.asCallee(globals))
      try push(.callResult(opcodeOffset))
    case .newObj, .newObjEx:
      record(.none)
      let n = op == .newObj ? 2 : 3
      guard available >= n else { throw underflow(n) }
      stack.removeLast(n &- 1)
      let cls = try pop()
      call(cls.asCallee(globals))
      try push(.callResult(opcodeOffset))
    case .obj:
      record(.none)
      guard let cls = try popMark().first else { throw underflow(1) }
      call(cls.asCallee(globals))
      try push(.callResult(opcodeOffset))
    case .persID:
      let line = try readLineText()
      guard let pid = PickleText.ascii(line) else { throw malformed("persistent IDs in protocol 0 must be ASCII strings") }
      record(.text(pid))
      persistent.append(opcodeOffset)
      call(.persistentObject(loadedAt: opcodeOffset))
      try push(.persistent(opcodeOffset))
    case .binPersID:
      record(.none)
      _ = try pop()
      persistent.append(opcodeOffset)
      call(.persistentObject(loadedAt: opcodeOffset))
      try push(.persistent(opcodeOffset))
    case .ext1, .ext2, .ext4:
      let code: Int
      switch op {
      case .ext1: code = Int(try r.read(UInt8.self))
      case .ext2: code = Int(try r.read(UInt16.self))
      default: code = Int(try r.read(Int32.self))
      }
      record(.int(Int64(code)))
      extensions.append(PickleExtensionReference(byteOffset: opcodeOffset, code: code))
      try push(.ext(code))
    case .proto:
      let v = Int(try r.read(UInt8.self))
      guard v <= 5 else { throw .pickleUnsupportedProtocol(offset: opcodeOffset, version: v) }
      record(.int(Int64(v)))
      if protocolVersion == nil { protocolVersion = v }
      currentProtocol = v
    case .frame:
      let n = try r.read(UInt64.self)
      record(n <= UInt64(Int64.max) ? .int(Int64(n)) : .bigInt(byteOffset: opcodeOffset &+ 1, byteCount: 8))
    case .nextBuffer:
      record(.none)
      try push(.buffer)
    case .readOnlyBuffer:
      record(.none)
      _ = try top()
    }
    return false
  }
}

// MARK: - Array conveniences

extension PickleDisassembler {
  /// `disassemble(_:startOffset:limits:)` over an array (e.g. an extracted ZIP member).
  public static func disassemble(
    _ bytes: [UInt8], startOffset: Int = 0, limits: PickleLimits = PickleLimits()
  ) throws(ContainerError) -> PickleDisassembly {
    let result = scan(bytes, startOffset: startOffset, limits: limits)
    if let error = result.error { throw error }
    return result
  }

  /// `scan(_:startOffset:limits:)` over an array (e.g. an extracted ZIP member).
  public static func scan(_ bytes: [UInt8], startOffset: Int = 0, limits: PickleLimits = PickleLimits()) -> PickleDisassembly {
    bytes.withUnsafeBytes { scan($0, startOffset: startOffset, limits: limits) }
  }
}
