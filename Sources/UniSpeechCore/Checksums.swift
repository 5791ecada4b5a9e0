import CCrypto
import Foundation

extension CRC32 {
    /// The checksum of tensor bytes (the zip / zlib polynomial; the implementation lives in Checkpoint/CRC32.swift).
    public static func checksum(_ bytes: TensorBytes) -> UInt32 { bytes.withUnsafeBytes { checksum($0) } }

    /// Eight lower-case hex digits, as the native header stores it.
    public static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}

/// SHA-256 through OpenSSL's libcrypto (which uses the CPU's SHA extensions where present),
/// streamed over a file so a source checkpoint is hashed without a copy.
public struct SHA256 {
    /// Length of `hexDigest`'s result.
    public static let hexDigestLength = 64

    /// Owns one OpenSSL digest context.
    private final class Context: @unchecked Sendable {
        let pointer: OpaquePointer

        init() {
            pointer = EVP_MD_CTX_new()
            EVP_DigestInit_ex(pointer, EVP_sha256(), nil)
        }

        deinit { EVP_MD_CTX_free(pointer) }
    }

    private let context = Context()

    public init() {}

    /// The lower-case hex digest of a whole file, read through a memory map.
    public static func hexDigest(ofFile path: String) throws -> String {
        hexDigest(of: try MappedFile(path: path).all)
    }

    /// The lower-case hex digest of `bytes` (e.g. a file already mapped).
    public static func hexDigest(of bytes: TensorBytes) -> String {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Feeds more bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context.pointer, base, bytes.count)
    }

    /// Feeds the bytes of a tensor or file view.
    public mutating func update(_ bytes: TensorBytes) { bytes.withUnsafeBytes { update($0) } }

    /// The 32-byte digest; the hasher is spent afterwards.
    public mutating func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context.pointer, &digest, &length)
        return Array(digest.prefix(Int(length)))
    }
}

/// SHA-256 digests of whole files, hashed on a background thread while the caller does other work
/// (convert writes its output meanwhile). The files are opened up front, so open errors are thrown by `init`.
public final class BackgroundFileDigests: @unchecked Sendable {
    /// Where the hashing thread leaves its result; read only after `group.wait()`.
    private final class Result: @unchecked Sendable {
        var digests: [String] = []
    }

    /// File sizes in bytes, in the order of the paths.
    public let sizes: [Int]
    private let group = DispatchGroup()
    private let result = Result()

    public init(paths: [String]) throws {
        let files = try paths.map { try MappedFile(path: $0) }
        sizes = files.map(\.count)
        // The task holds the result box, not `self`, so that `deinit` runs (and waits) where the owner lets go.
        let result = result
        DispatchQueue.global(qos: .userInitiated).async(group: group) {
            result.digests = files.map { SHA256.hexDigest(of: $0.all) }
        }
    }

    /// Stand-ins as long as the digests, for a header written before they are known.
    public var placeholders: [String] { sizes.map { _ in String(repeating: "0", count: SHA256.hexDigestLength) } }

    /// The lower-case hex digests in path order, once hashing has finished.
    public func wait() -> [String] {
        group.wait()
        return result.digests
    }

    /// Waits for the hashing thread, so that no hash is still running when an error ends the process (libcrypto's
    /// exit handlers free state the thread would still use).
    deinit { group.wait() }
}
