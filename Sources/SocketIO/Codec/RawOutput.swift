/// A cursor over reserved, uninitialized bytes; the caller guarantees there is room.
struct RawOutput {
    let pointer: UnsafeMutablePointer<UInt8>
    /// Bytes written so far.
    var count = 0

    init(_ raw: UnsafeMutableRawBufferPointer) {
        self.pointer = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        self.pointer[self.count] = byte
        self.count &+= 1
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeRawPointer, count: Int) {
        guard count > 0 else { return }
        UnsafeMutableRawPointer(self.pointer + self.count).copyMemory(from: bytes, byteCount: count)
        self.count &+= count
    }

    @inline(__always)
    mutating func append(_ string: StaticString) {
        self.append(string.utf8Start, count: string.utf8CodeUnitCount)
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        self.append(base, count: bytes.count)
    }

    mutating func appendZeros(_ count: Int) {
        guard count > 0 else { return }
        (self.pointer + self.count).initialize(repeating: UInt8(ascii: "0"), count: count)
        self.count &+= count
    }
}
