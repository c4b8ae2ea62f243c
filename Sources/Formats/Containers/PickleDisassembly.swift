/// The argument an opcode carries in the byte stream, decoded without executing anything.
public enum PickleArgument: Sendable, Equatable {
  /// The opcode has no argument.
  case none
  /// An integer argument (BININT*, INT, LONG*, PROTO, FRAME, EXT*, lengths).
  case int(Int64)
  /// An integer too wide for Int64: where its bytes (LONG1/LONG4) or digits (INT/LONG) are.
  case bigInt(byteOffset: Int, byteCount: Int)
  /// A float (FLOAT, BINFLOAT).
  case float(Double)
  /// A decoded text argument (STRING/UNICODE after unescaping, BIN*STRING, BIN*UNICODE, PERSID).
  case text(String)
  /// A text argument longer than `PickleLimits.maxRetainedStringBytes`: where its bytes are.
  case longText(byteOffset: Int, byteCount: Int)
  /// A bytes argument (BINBYTES*, BYTEARRAY8): where its bytes are.
  case bytes(byteOffset: Int, byteCount: Int)
  /// A text argument `pickletools` would print but that is not a number (FLOAT/INT that do not parse).
  case rawLine(String)
  /// GLOBAL / INST: the two newline-terminated strings.
  case global(module: String, name: String)
  /// PUT/GET and their binary forms: the memo key.
  case memoKey(Int)
}

/// One opcode, with the absolute byte offset of its opcode byte.
public struct PickleInstruction: Sendable, Equatable {
  public let byteOffset: Int
  public let opcode: PickleOpcode
  public let argument: PickleArgument
}

/// A reference to `module.name` that the unpickler would import (`find_class`).
public struct PickleGlobalReference: Sendable, Equatable, Hashable {
  /// Module as written in the pickle (no Python 2 name mapping applied: `__builtin__` stays as is).
  public let module: String
  /// Attribute name (may be dotted, e.g. `Foo.bar`, which protocol 4 resolves attribute by attribute).
  public let name: String
  /// Offset of the GLOBAL / STACK_GLOBAL / INST opcode byte.
  public let byteOffset: Int
  /// The opcode that produced the reference.
  public let opcode: PickleOpcode

  /// The module CPython 3 actually imports: for streams whose PROTO is below 3 the unpickler maps
  /// Python 2 names (`fix_imports`, `Lib/_compat_pickle.py`), so `__builtin__` is `builtins` and
  /// `commands` is `subprocess`. Equal to `module` when no mapping applies.
  public let importedModule: String
  /// The attribute CPython 3 actually looks up (`__builtin__.xrange` is `builtins.range`).
  public let importedName: String

  public init(module: String, name: String, byteOffset: Int, opcode: PickleOpcode,
              importedModule: String? = nil, importedName: String? = nil) {
    self.module = module
    self.name = name
    self.byteOffset = byteOffset
    self.opcode = opcode
    self.importedModule = importedModule ?? module
    self.importedName = importedName ?? name
  }

  /// `module.name` as written.
  public var qualifiedName: String { "\(module).\(name)" }
  /// `importedModule.importedName`: what CPython 3 resolves.
  public var importedQualifiedName: String { "\(importedModule).\(importedName)" }
}

/// Python 2 -> 3 renames applied by CPython's unpickler for protocols 0-2 (a subset of
/// `_compat_pickle.NAME_MAPPING` / `IMPORT_MAPPING`: every module that can run code or do I/O, and the
/// common containers).
enum PicklePython2Names {
  static let names: [String: (String, String)] = [
    "__builtin__.xrange": ("builtins", "range"), "__builtin__.reduce": ("functools", "reduce"),
    "__builtin__.intern": ("sys", "intern"), "__builtin__.unichr": ("builtins", "chr"),
    "__builtin__.unicode": ("builtins", "str"), "__builtin__.long": ("builtins", "int"),
    "__builtin__.basestring": ("builtins", "str"), "itertools.izip": ("builtins", "zip"),
    "itertools.imap": ("builtins", "map"), "itertools.ifilter": ("builtins", "filter"),
    "UserDict.IterableUserDict": ("collections", "UserDict"), "exceptions.StandardError": ("builtins", "Exception"),
  ]
  static let modules: [String: String] = [
    "__builtin__": "builtins", "exceptions": "builtins", "copy_reg": "copyreg", "commands": "subprocess",
    "cPickle": "pickle", "thread": "_thread", "dummy_thread": "_dummy_thread", "Queue": "queue",
    "SocketServer": "socketserver", "SimpleHTTPServer": "http.server", "BaseHTTPServer": "http.server",
    "CGIHTTPServer": "http.server", "httplib": "http.client", "Cookie": "http.cookies", "cookielib": "http.cookiejar",
    "urllib2": "urllib.request", "urlparse": "urllib.parse", "robotparser": "urllib.robotparser",
    "xmlrpclib": "xmlrpc.client", "SimpleXMLRPCServer": "xmlrpc.server", "DocXMLRPCServer": "xmlrpc.server",
    "StringIO": "io", "cStringIO": "io", "UserDict": "collections", "UserList": "collections",
    "UserString": "collections", "_abcoll": "collections.abc", "ConfigParser": "configparser", "repr": "reprlib",
    "_winreg": "winreg", "anydbm": "dbm", "whichdb": "dbm", "dbhash": "dbm.bsd", "dumbdbm": "dbm.dumb",
    "dbm": "dbm.ndbm", "gdbm": "dbm.gnu", "Tkinter": "tkinter", "markupbase": "_markupbase",
    "htmlentitydefs": "html.entities", "HTMLParser": "html.parser", "_elementtree": "xml.etree.ElementTree",
    "test.test_support": "test.support",
  ]

  /// What `find_class(module, name)` imports when `fix_imports` applies.
  static func map(module: String, name: String) -> (String, String) {
    if let hit = names["\(module).\(name)"] { return hit }
    if let m = modules[module] { return (m, name) }
    return (module, name)
  }
}

/// What an invoking opcode calls (REDUCE, NEWOBJ, INST, OBJ) or acts on (BUILD, APPEND, SETITEM...).
public enum PickleCallee: Sendable, Equatable {
  /// A global pushed by GLOBAL / STACK_GLOBAL / INST (directly, or through DUP or the memo).
  case global(PickleGlobalReference)
  /// The value an earlier call returned; `ofCallAt` is that call's opcode offset (see `calls`).
  case returnValue(ofCallAt: Int)
  /// An object returned by `persistent_load` (PERSID/BINPERSID at that offset).
  case persistentObject(loadedAt: Int)
  /// An object from the copyreg extension registry (EXT1/2/4) with this code.
  case extensionObject(code: Int)
  /// A STACK_GLOBAL whose operands we could not resolve to strings (see `unresolvedGlobals`).
  case unresolvedGlobal(at: Int)
  /// A value built by plain opcodes (`"str"`, `"int"`, `"tuple"`, `"list"`, `"dict"`, `"None"`...).
  case other(String)

  /// The global, when the callee is one directly.
  public var global: PickleGlobalReference? {
    if case .global(let g) = self { return g }
    return nil
  }
}

/// An opcode that makes the unpickler call something: the callable (or the object whose method runs).
public struct PickleCall: Sendable, Equatable {
  /// Offset of the opcode byte.
  public let byteOffset: Int
  /// REDUCE, BUILD, NEWOBJ, NEWOBJ_EX, INST, OBJ, PERSID, BINPERSID, or APPEND(S)/SETITEM(S)/ADDITEMS
  /// on an object that is not a list/dict/set literal (those call the object's own method).
  public let opcode: PickleOpcode
  /// The callable, or for BUILD/APPEND/... the object acted on.
  public let callee: PickleCallee
}

/// A STACK_GLOBAL whose module or name is not a string we kept.
public struct PickleUnresolvedGlobal: Sendable, Equatable {
  public let byteOffset: Int
  /// Why: e.g. "module is a 5000-byte string (not retained)".
  public let detail: String
}

/// Everything the disassembler learned about one pickle (up to STOP, or up to the error).
public struct PickleDisassembly: Sendable, Equatable {
  /// Offset of the first opcode.
  public let startOffset: Int
  /// Offset just past STOP, or of the failing opcode when `error` is set.
  public let endOffset: Int
  /// The protocol named by the first PROTO opcode, if any (protocols 0 and 1 have none).
  public let protocolVersion: Int?
  /// Highest protocol any opcode used.
  public let highestOpcodeProtocol: Int
  /// Every opcode (empty if `PickleLimits.recordInstructions` is false).
  public let instructions: [PickleInstruction]
  /// Opcodes executed (counted even when not recorded).
  public let instructionCount: Int
  /// Globals in stream order.
  public let globals: [PickleGlobalReference]
  /// Calls in stream order.
  public let calls: [PickleCall]
  /// STACK_GLOBALs that could not be resolved.
  public let unresolvedGlobals: [PickleUnresolvedGlobal]
  /// Offsets of PERSID / BINPERSID opcodes.
  public let persistentLoadOffsets: [Int]
  /// EXT1/2/4 codes with their opcode offsets.
  public let extensionCodes: [PickleExtensionReference]
  /// Deepest stack seen (all frames).
  public let maxStackDepth: Int
  /// Items left on the stack after STOP popped the result (0 for a pickle Python wrote).
  public let leftoverStackItems: Int
  /// Why the walk stopped before STOP, or nil if it reached STOP.
  public let error: ContainerError?

  /// True if the walk reached STOP.
  public var isComplete: Bool { error == nil }
}

/// An EXT1/EXT2/EXT4 opcode: a global named only by its copyreg extension code.
public struct PickleExtensionReference: Sendable, Equatable {
  public let byteOffset: Int
  public let code: Int
}

/// Bounds for the disassembler (all checked before the corresponding growth).
public struct PickleLimits: Sendable, Equatable {
  /// Most opcodes walked.
  public var maxInstructions: Int
  /// Most items on the stack (all MARK frames together) and most open MARKs.
  public var maxStackDepth: Int
  /// Most distinct memo keys.
  public var maxMemoEntries: Int
  /// Longest text argument decoded and kept (longer ones are `.longText`, and unresolvable as globals).
  public var maxRetainedStringBytes: Int
  /// Total text bytes decoded and kept over the whole pickle.
  public var maxRetainedTotalBytes: Int
  /// Longest newline-terminated argument (protocol 0 opcodes).
  public var maxLineBytes: Int
  /// Keep every instruction (disable for huge pickles when only globals and calls matter).
  public var recordInstructions: Bool

  public init(
    maxInstructions: Int = 2_000_000, maxStackDepth: Int = 1_000_000, maxMemoEntries: Int = 1_000_000,
    maxRetainedStringBytes: Int = 4096, maxRetainedTotalBytes: Int = 64 << 20, maxLineBytes: Int = 1 << 20,
    recordInstructions: Bool = true
  ) {
    self.maxInstructions = maxInstructions
    self.maxStackDepth = maxStackDepth
    self.maxMemoEntries = maxMemoEntries
    self.maxRetainedStringBytes = maxRetainedStringBytes
    self.maxRetainedTotalBytes = maxRetainedTotalBytes
    self.maxLineBytes = maxLineBytes
    self.recordInstructions = recordInstructions
  }
}
