#if canImport(Glibc)
import Glibc
#endif

/// Lists a folder's entry names (without `.` and `..`), sorted; `nil` if it cannot be opened.
/// - Parameter includeHidden: whether names starting with `.` are included.
public func listDirectory(_ path: String, includeHidden: Bool = true) -> [String]? {
  guard let dir = opendir(path) else { return nil }
  defer { closedir(dir) }
  var names: [String] = []
  while let entry = readdir(dir) {
    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
      String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
    if name == "." || name == ".." || (!includeHidden && name.hasPrefix(".")) { continue }
    names.append(name)
  }
  return names.sorted()
}
