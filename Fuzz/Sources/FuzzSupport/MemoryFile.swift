import Foundation

/// An unlinked file on tmpfs reachable by path (/proc/self/fd/N), so readers that open paths can be
/// fuzzed without touching the disk or leaving files behind.
public final class MemoryFile: Sendable {
    private let fd: Int32
    /// A path that opens the current contents.
    public let path: String

    public init(name: String) {
        var template = Array("/dev/shm/\(name)-XXXXXX".utf8CString)
        fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        precondition(fd >= 0, "cannot create a file in /dev/shm: \(String(cString: strerror(errno)))")
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        path = "/proc/self/fd/\(fd)"
    }

    /// Replaces the contents with `count` bytes at `data`.
    public func replace(with data: UnsafePointer<UInt8>?, count: Int) {
        precondition(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0, "file reset failed")
        var done = 0
        while done < count, let data {
            let n = pwrite(fd, data + done, count - done, off_t(done))
            precondition(n > 0, "file write failed")
            done += n
        }
    }
}
