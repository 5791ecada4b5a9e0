import UniSpeechCore

/// A few f32 tensors held in memory.
public struct InMemoryTensors: TensorSource {
    public let entries: [(name: String, shape: [Int], values: [Float])]

    public init(entries: [(name: String, shape: [Int], values: [Float])]) { self.entries = entries }
    public var sourceDescription: String { "memory" }
    public var tensors: [TensorInfo] { entries.map { TensorInfo(name: $0.name, dtype: .f32, shape: $0.shape) } }

    public func bytes(of name: String) throws -> TensorBytes {
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw TensorSourceError.missingTensor(source: sourceDescription, name: name)
        }
        return TensorBytes(values: entry.values)
    }
}
