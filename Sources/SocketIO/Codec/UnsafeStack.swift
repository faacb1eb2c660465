/// A stack in raw memory for the JSON parser: it starts in storage the caller provides (usually
/// stack-allocated with `withUnsafeTemporaryAllocation`) and moves to the heap only if it outgrows
/// it. Elements are moved in and out, never copied.
///
/// The owner must call ``deallocate()`` exactly once, on every path, to destroy what is left.
struct UnsafeStack<Element> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private var capacity: Int
    private var ownsStorage = false

    init(storage: UnsafeMutableBufferPointer<Element>) {
        precondition(storage.count > 0)
        self.base = storage.baseAddress!
        self.capacity = storage.count
    }

    @inline(__always)
    mutating func push(_ element: Element) {
        if self.count == self.capacity { self.grow() }
        (self.base + self.count).initialize(to: element)
        self.count &+= 1
    }

    /// The top element. The stack must not be empty.
    @inline(__always)
    var top: Element {
        self.base[self.count &- 1]
    }

    @inline(__always)
    mutating func removeLast() {
        self.count &-= 1
        (self.base + self.count).deinitialize(count: 1)
    }

    /// Moves out the element at `index`, leaving its slot uninitialized; the caller must then
    /// drop the slot with ``forgetElements(from:)``.
    @inline(__always)
    func move(at index: Int) -> Element {
        (self.base + index).move()
    }

    /// Shrinks the stack to `start` elements whose slots were already moved out.
    @inline(__always)
    mutating func forgetElements(from start: Int) {
        self.count = start
    }

    /// Moves the elements from `start` up into a new array and removes them.
    mutating func popArray(from start: Int) -> [Element] {
        let n = self.count &- start
        guard n > 0 else { return [] }
        let source = self.base + start
        let array = [Element](unsafeUninitializedCapacity: n) { buffer, initialized in
            buffer.baseAddress!.moveInitialize(from: source, count: n)
            initialized = n
        }
        self.count = start
        return array
    }

    /// Destroys the remaining elements and frees heap storage.
    mutating func deallocate() {
        self.base.deinitialize(count: self.count)
        if self.ownsStorage { self.base.deallocate() }
        self.count = 0
    }

    private mutating func grow() {
        let newCapacity = self.capacity &* 2
        let newBase = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        newBase.moveInitialize(from: self.base, count: self.count)
        if self.ownsStorage { self.base.deallocate() }
        self.base = newBase
        self.capacity = newCapacity
        self.ownsStorage = true
    }
}
