import Testing
@testable import Formats

@Suite struct PickleDisassemblerTests {
  static let pickleFixtures = ContainerFixtures.section("pickles").keys.filter { !$0.contains(":") }.sorted()

  static func disassemble(_ bytes: [UInt8], limits: PickleLimits = PickleLimits()) throws(ContainerError) -> PickleDisassembly {
    try withRaw(bytes) { (p) throws(ContainerError) in try PickleDisassembler.disassemble(p, limits: limits) }
  }

  static func check(_ d: PickleDisassembly, against expected: [String: Any], _ name: String) {
    let ops = (expected["ops"] as? [[Any]]) ?? []
    #expect(d.instructions.count == ops.count, "\(name): opcode count")
    for (mine, theirs) in zip(d.instructions, ops) {
      #expect(mine.byteOffset == theirs[0] as? Int && mine.opcode.name == theirs[1] as? String,
              "\(name): \(mine.opcode.name)@\(mine.byteOffset) vs \(theirs)")
    }
    let globals = (expected["globals"] as? [[Any]]) ?? []
    let got = d.globals.map { [$0.module, $0.name, String($0.byteOffset), $0.opcode.name] }
    let want = globals.map { [$0[0] as? String ?? "", $0[1] as? String ?? "", String($0[2] as? Int ?? -1), $0[3] as? String ?? ""] }
    #expect(got == want, "\(name): globals")
    #expect(d.endOffset == expected["length"] as? Int, "\(name): STOP is the last byte")
  }

  /// Every opcode offset and name equals pickletools.genops, and every global equals what CPython's
  /// unpickler's find_class received, for CPython pickles of protocols 0-5 and the hand-written ones.
  @Test(arguments: pickleFixtures)
  func opcodesAndGlobalsMatchCPython(_ name: String) throws {
    let expected = try #require(ContainerFixtures.section("pickles")[name] as? [String: Any])
    let d = try Self.disassemble(try ContainerFixtures.bytes(name))
    Self.check(d, against: expected, name)
  }

  /// Protocols are reported from PROTO, and 0/1 pickles have none.
  @Test func protocolVersionComesFromPROTO() throws {
    for proto in 0...5 {
      let d = try Self.disassemble(try ContainerFixtures.bytes("pickle_proto\(proto).pkl"))
      #expect(d.protocolVersion == (proto >= 2 ? proto : nil))
      #expect(d.highestOpcodeProtocol <= max(proto, 1))
      #expect(d.leftoverStackItems == 0)
    }
  }

  /// The hand-written os.system pickles (never unpickled) resolve their callee in every spelling:
  /// GLOBAL, STACK_GLOBAL from memoized strings, BINGET round trips, STRING/UNICODE escapes, INST, OBJ.
  @Test(arguments: ["malicious_os_system_p0.pkl", "malicious_os_system_p4.pkl", "malicious_memo_stack_global.pkl",
                    "malicious_escaped_names.pkl", "malicious_inst.pkl", "malicious_obj.pkl"])
  func osSystemCallIsResolved(_ name: String) throws {
    let expected = try #require(ContainerFixtures.section("pickles")[name] as? [String: Any])
    let d = try Self.disassemble(try ContainerFixtures.bytes(name))
    let calls = try #require(expected["calls"] as? [[Any]])
    #expect(d.calls.count == calls.count)
    for (mine, theirs) in zip(d.calls, calls) {
      #expect(mine.byteOffset == theirs[0] as? Int)
      #expect(mine.opcode.name == theirs[1] as? String)
      #expect(mine.callee.global?.qualifiedName == theirs[2] as? String)
    }
    #expect(d.globals.map(\.qualifiedName) == ["os.system"])
  }

  /// getattr(__import__('os'), 'system')('id'): the last call's callee is the return value of the getattr call.
  @Test func callOfAReturnValueNamesTheEarlierCall() throws {
    let d = try Self.disassemble(try ContainerFixtures.bytes("malicious_getattr_chain.pkl"))
    #expect(d.calls.count == 3)
    #expect(d.calls[0].callee.global?.qualifiedName == "__builtin__.__import__")
    #expect(d.calls[1].callee.global?.qualifiedName == "builtins.getattr")
    #expect(d.calls[2].callee == .returnValue(ofCallAt: d.calls[1].byteOffset))
  }

  /// The hand-built torch data.pkl names OrderedDict, _rebuild_tensor_v2 and FloatStorage, loads a
  /// persistent storage, and BUILDs / SETITEMs on the OrderedDict (recorded as calls on its instance).
  @Test func torchDataPickleInsideTheZipIsDisassembled() throws {
    let bytes = try ContainerFixtures.bytes("torch_checkpoint.pt")
    let zip = try withRaw(bytes) { (p) throws(ContainerError) in try ZipArchive(bytes: p) }
    let entry = try #require(zip.entry(named: "archive/data.pkl"))
    let pkl = try withRaw(bytes) { (p) throws(ContainerError) in try zip.extract(entry, from: p, maxOutputBytes: 1 << 20) }
    let expected = try #require(ContainerFixtures.section("pickles")["torch_checkpoint.pt:archive/data.pkl"] as? [String: Any])
    let d = try Self.disassemble(pkl)
    Self.check(d, against: expected, "torch data.pkl")
    #expect(d.persistentLoadOffsets.count == 1)
    let reduces = d.calls.filter { $0.opcode == .reduce }.compactMap { $0.callee.global?.qualifiedName }
    #expect(reduces == ["collections.OrderedDict", "collections.OrderedDict", "torch._utils._rebuild_tensor_v2"])
    #expect(d.calls.contains { $0.opcode == .binPersID })
    #expect(d.calls.contains { $0.opcode == .setItem })
    #expect(d.calls.contains { $0.opcode == .build })
  }

  /// Legacy torch.save files are a sequence of pickles; each is found at its offset.
  @Test func legacyTorchFileIsASequenceOfPickles() throws {
    let bytes = try ContainerFixtures.bytes("torch_legacy.pt")
    let seq = bytes.withUnsafeBytes { PickleDisassembler.scanSequence($0) }
    let offsets = try #require(ContainerFixtures.expected["legacy_pickle_offsets"] as? [Int])
    #expect(seq.map(\.startOffset) == offsets)
    #expect(seq.allSatisfy { $0.isComplete })
    #expect(seq.last?.globals.map(\.qualifiedName) == ["os.system"])
  }

  /// An unknown opcode is a typed error naming the byte and its offset, and what ran before it is kept.
  @Test func unknownOpcodeIsReportedWithOffsetAndPartialResult() throws {
    let bytes: [UInt8] = Array("cos\nsystem\n(S'x'\ntR".utf8) + [0xFF]
    #expect(throws: ContainerError.pickleUnknownOpcode(offset: 19, byte: 0xFF)) { try Self.disassemble(bytes) }
    let partial = bytes.withUnsafeBytes { PickleDisassembler.scan($0) }
    #expect(partial.calls.first?.callee.global?.qualifiedName == "os.system")
    #expect(partial.endOffset == 19)
  }

  /// Truncation and a missing STOP are errors with offsets.
  @Test func truncationIsTypedWithOffset() throws {
    #expect(throws: ContainerError.truncated(offset: 3, needed: 4, available: 2)) {
      try Self.disassemble([0x80, 0x02, 0x4A, 0x01, 0x02])  // BININT needs 4 bytes
    }
    #expect(throws: ContainerError.pickleMissingStop(offset: 3)) { try Self.disassemble([0x80, 0x02, 0x4E]) }
    #expect(throws: ContainerError.truncated(offset: 0, needed: 1, available: 0)) { try Self.disassemble([]) }
  }

  /// Stack underflow, missing MARK, missing memo keys and non-str STACK_GLOBAL operands are errors.
  @Test func unpicklerRulesAreEnforced() throws {
    #expect(throws: ContainerError.pickleStackUnderflow(offset: 3, opcode: "REDUCE", needed: 2, available: 1)) {
      try Self.disassemble([0x80, 0x02, 0x4E, 0x52, 0x2E])
    }
    #expect(throws: ContainerError.pickleStackUnderflow(offset: 0, opcode: "TUPLE (no MARK)", needed: 1, available: 0)) {
      try Self.disassemble(Array("t.".utf8))
    }
    #expect(throws: ContainerError.pickleMemoKeyMissing(offset: 0, opcode: "BINGET", key: 7)) { try Self.disassemble([0x68, 7, 0x2E]) }
    #expect(throws: ContainerError.pickleMalformedArgument(offset: 4, opcode: "STACK_GLOBAL", detail: "STACK_GLOBAL requires str (module is int, name is int)")) {
      try Self.disassemble([0x4B, 1, 0x4B, 2, 0x93, 0x2E])
    }
    #expect(throws: ContainerError.pickleUnsupportedProtocol(offset: 0, version: 6)) { try Self.disassemble([0x80, 6, 0x4E, 0x2E]) }
    #expect(throws: ContainerError.pickleMalformedArgument(offset: 0, opcode: "STRING", detail: "the STRING opcode argument must be quoted")) {
      try Self.disassemble(Array("Sabc\n.".utf8))
    }
  }

  /// Limits are enforced before growth: instruction count, stack depth, memo size.
  @Test func limitsAreEnforced() throws {
    let many = [UInt8](repeating: 0x4E, count: 100) + [0x2E]
    #expect(throws: ContainerError.pickleLimitExceeded(offset: 50, limit: "instructions", value: 50)) {
      try Self.disassemble(many, limits: PickleLimits(maxInstructions: 50))
    }
    #expect(throws: ContainerError.pickleLimitExceeded(offset: 10, limit: "stack depth", value: 10)) {
      try Self.disassemble(many, limits: PickleLimits(maxStackDepth: 10))
    }
    var memo: [UInt8] = [0x4E]
    for i in 0..<10 { memo += [0x71, UInt8(i)] }
    #expect(throws: ContainerError.pickleLimitExceeded(offset: 9, limit: "memo entries", value: 4)) {
      try Self.disassemble(memo + [0x2E], limits: PickleLimits(maxMemoEntries: 4))
    }
    // A length field of 2^63 is refused against the bytes left, never allocated.
    #expect(throws: ContainerError.lengthTooLarge(offset: 9, field: "BINBYTES8 length", value: 1 << 63, limit: 0)) {
      try Self.disassemble([0x8E] + withUnsafeBytes(of: (UInt64(1) << 63).littleEndian, Array.init))
    }
  }

  /// A STACK_GLOBAL whose module string is too long to keep is reported as unresolved, not dropped.
  @Test func overlongStackGlobalOperandIsUnresolved() throws {
    let long = [UInt8](repeating: 0x61, count: 5000)
    var p: [UInt8] = [0x80, 4, 0x58] + withUnsafeBytes(of: UInt32(5000).littleEndian, Array.init) + long
    p += [0x8C, 1, 0x62, 0x93, 0x29, 0x52, 0x2E]
    let d = try Self.disassemble(p)
    #expect(d.globals.isEmpty)
    #expect(d.unresolvedGlobals.count == 1)
    #expect(d.calls.first?.callee == .unresolvedGlobal(at: d.unresolvedGlobals[0].byteOffset))
  }

  /// STRING escapes and UNICODE raw-unicode-escapes decode as CPython does.
  @Test func textArgumentsDecodeLikeCPython() throws {
    let d = try Self.disassemble(Array("(S'a\\x41\\101\\n'\nVx\\u0041\\\\u0041\\U0001F600\nl.".utf8))
    let texts = d.instructions.compactMap { if case .text(let s) = $0.argument { s } else { nil } }
    #expect(texts == ["aAA\n", "xA\\\\u0041😀"])
  }

  /// LONG1/LONG4 and INT/LONG decode to Int64 when they fit and are located otherwise.
  @Test func integerArgumentsDecode() throws {
    let d = try Self.disassemble([0x28, 0x8A, 2, 0xFF, 0x7F, 0x8A, 1, 0xFF, 0x8A, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1]
                                 + Array("I0x1F\nL-12L\nl.".utf8))
    let args = d.instructions.map(\.argument)
    #expect(args[1] == .int(32767))
    #expect(args[2] == .int(-1))
    #expect(args[3] == .bigInt(byteOffset: 10, byteCount: 9))
    #expect(args[4] == .int(31))
    #expect(args[5] == .int(-12))
  }
}

@Suite struct PicklePython2NameTests {
  /// Below protocol 3 CPython maps Python 2 names (fix_imports): __builtin__.eval is builtins.eval,
  /// commands.getoutput is subprocess.getoutput; from protocol 3 on, names are taken as written.
  @Test func python2NamesMapLikeCPythonBelowProtocol3() throws {
    let p0 = try PickleDisassemblerTests.disassemble(Array("c__builtin__\neval\n(S'1'\ntR.".utf8))
    #expect(p0.globals[0].importedQualifiedName == "builtins.eval")
    #expect(p0.globals[0].qualifiedName == "__builtin__.eval")
    let p2 = try PickleDisassemblerTests.disassemble([0x80, 2] + Array("ccommands\ngetoutput\n)R.".utf8))
    #expect(p2.globals[0].importedQualifiedName == "subprocess.getoutput")
    let x = try PickleDisassemblerTests.disassemble([0x80, 2] + Array("c__builtin__\nxrange\n.".utf8))
    #expect(x.globals[0].importedQualifiedName == "builtins.range")
    let p3 = try PickleDisassemblerTests.disassemble([0x80, 3] + Array("c__builtin__\neval\n.".utf8))
    #expect(p3.globals[0].importedQualifiedName == "__builtin__.eval")
  }
}

@Suite struct PickleOpcodeCoverageTests {
  /// EXT1/2/4 push a registry object: the code is recorded and a call on it names the extension.
  @Test func extensionCodesAreRecorded() throws {
    let d = try PickleDisassemblerTests.disassemble([0x80, 2, 0x82, 5, 0x29, 0x52, 0x83, 0x01, 0x02, 0x30, 0x2E])
    #expect(d.extensionCodes == [PickleExtensionReference(byteOffset: 2, code: 5), PickleExtensionReference(byteOffset: 6, code: 0x0201)])
    #expect(d.calls == [PickleCall(byteOffset: 5, opcode: .reduce, callee: .extensionObject(code: 5))])
  }

  /// PERSID (protocol 0) and BINPERSID record persistent loads as calls.
  @Test func persistentIDsAreCalls() throws {
    let d = try PickleDisassemblerTests.disassemble(Array("Pkey\n".utf8) + [0x30] + Array("S'x'\nQ.".utf8))
    #expect(d.persistentLoadOffsets == [0, 11])
    #expect(d.calls.map(\.opcode) == [.persID, .binPersID])
  }

  /// Every opcode byte value has a name and a protocol, and no other byte is an opcode.
  @Test func opcodeTableIsComplete() {
    #expect(PickleOpcode.allCases.count == 68)
    #expect(Set(PickleOpcode.allCases.map(\.name)).count == 68)
    #expect(PickleOpcode.allCases.allSatisfy { (0...5).contains($0.introducedInProtocol) })
  }

  /// [UInt8] conveniences give the same result as the buffer API.
  @Test func arrayConveniences() throws {
    let bytes = try ContainerFixtures.bytes("malicious_os_system_p4.pkl")
    #expect(try PickleDisassembler.disassemble(bytes) == PickleDisassemblerTests.disassemble(bytes))
    #expect(PickleDisassembler.scan(bytes).globals.map(\.qualifiedName) == ["os.system"])
  }
}
