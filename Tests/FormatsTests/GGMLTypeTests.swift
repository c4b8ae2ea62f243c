import Testing
@testable import Formats

@Suite struct GGMLTypeTests {
  /// Every id 0-42 maps to a type; removed ids have no geometry.
  @Test func everyIdUpTo42IsKnownAndRemovedOnesHaveNoGeometry() {
    for id in UInt32(0)...42 {
      let t = GGMLType(rawValue: id)
      #expect(t != nil, "id \(id)")
    }
    #expect(GGMLType(rawValue: 43) == nil)
    let removed: Set<UInt32> = [4, 5, 31, 32, 33, 36, 37, 38]
    for t in GGMLType.allCases { #expect(t.isRemoved == removed.contains(t.rawValue)) }
  }

  /// Byte counts follow (elements / block) * bytes per block and refuse partial blocks.
  @Test func byteCountUsesBlockGeometry() {
    #expect(GGMLType.q4_K.byteCount(elements: 512) == 288)
    #expect(GGMLType.q4_K.byteCount(elements: 100) == nil)
    #expect(GGMLType.f32.byteCount(elements: 3) == 12)
    #expect(GGMLType.q8_0.byteCount(elements: Int.max - 31) == nil)
  }
}
