import Foundation

/// Why a shard was refused.
public enum ShardError: LocalizedError, Equatable {
    case badText(String)
    case outOfRange(index: Int, count: Int)

    public var errorDescription: String? {
        switch self {
        case let .badText(text): return "shard '\(text)' is not I/N with whole numbers (0-based: 0/4 .. 3/4)"
        case let .outOfRange(index, count):
            return "shard \(index)/\(count) does not exist: shards are numbered from 0 to \(max(count - 1, 0)) of \(count) (count at least 1)"
        }
    }
}

/// One of `count` parts of a manifest: the inputs at positions index, index + count, index + 2 x count ... (0-based,
/// manifest order). The shards of one count are disjoint and together hold every input once.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// 0-based, below `count`.
    public let index: Int
    /// How many shards the manifest is cut into.
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, (0..<count).contains(index) else { throw ShardError.outOfRange(index: index, count: count) }
        self.index = index
        self.count = count
    }

    /// Parses "I/N" (0-based I).
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else { throw ShardError.badText(text) }
        try self.init(index: index, count: count)
    }

    /// "I/N".
    public var description: String { "\(index)/\(count)" }

    /// True when the input at manifest `position` (0-based) belongs to this shard.
    public func contains(position: Int) -> Bool { position % count == index }
}
