import Synchronization

/// Names a reusable workspace buffer. Code that needs scratch declares its own slots; two slots are never the
/// same memory.
public struct WorkspaceSlot: Hashable, Sendable {
    let name: String

    public init(_ name: String) { self.name = name }
}

/// Reusable 64-byte-aligned scratch buffers for forward passes: each slot grows to the largest size asked of it
/// and is reused by every later layer and call, so the hot path does not allocate (nor page-fault fresh memory).
/// One forward pass uses a workspace at a time (`WorkspacePool` hands them out), hence the unchecked Sendable.
final class Workspace: @unchecked Sendable {
    private var buffers: [WorkspaceSlot: UnsafeMutableRawBufferPointer] = [:]

    /// Room for `bytes` bytes in `slot` (contents undefined); valid until the next call for the same slot.
    func bytes(_ slot: WorkspaceSlot, count bytes: Int) -> UnsafeMutableRawPointer {
        if let existing = buffers[slot], existing.count >= bytes { return existing.baseAddress! }
        buffers[slot]?.deallocate()
        let fresh = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
        buffers[slot] = fresh
        return fresh.baseAddress!
    }

    /// Room for `count` values of `T` in `slot`.
    func values<T>(_ slot: WorkspaceSlot, count: Int, as _: T.Type) -> UnsafeMutablePointer<T> {
        bytes(slot, count: count * MemoryLayout<T>.stride).bindMemory(to: T.self, capacity: max(count, 1))
    }

    /// Room for `count` floats in `slot`.
    func floats(_ slot: WorkspaceSlot, count: Int) -> UnsafeMutablePointer<Float> { values(slot, count: count, as: Float.self) }

    deinit {
        for buffer in buffers.values { buffer.deallocate() }
    }
}

/// Workspaces kept between forward passes; each pass borrows one, so concurrent passes never share buffers.
final class WorkspacePool: Sendable {
    private let idle = Mutex<[Workspace]>([])

    /// Runs `body` with a workspace no other caller holds, returning it to the pool afterwards.
    func withWorkspace<R>(_ body: (Workspace) throws -> R) rethrows -> R {
        let workspace = idle.withLock { $0.popLast() } ?? Workspace()
        defer { idle.withLock { $0.append(workspace) } }
        return try body(workspace)
    }
}
