import Foundation
import UniSpeechCore

/// What scripts/make_fixtures.py recorded from PyTorch for each checkpoint fixture (expected.json).
public struct ExpectedCheckpoint: Sendable {
    public struct Tensor: Sendable {
        public let dtype: DType
        public let shape: [Int]
        /// First elements and sum, for the few tensors the script recorded values of.
        public let first: [Double]?
        public let sum: Double?
        /// Every element, for the views fixture.
        public let values: [Double]?
    }

    public let name: String
    public let layout: String?
    public let architecture: String?
    public let files: [String]
    public let parameterCount: Int?
    /// Tensors by stored name, in the order of expected.json (sorted by name).
    public let tensors: [(name: String, tensor: Tensor)]

    public static let all: [String: ExpectedCheckpoint] = {
        let path = Fixtures.path("checkpoints/expected.json")
        let json = try! JSONValue.parse([UInt8](FileManager.default.contents(atPath: path)!), source: path)
        var result: [String: ExpectedCheckpoint] = [:]
        for (name, entry) in json.objectMembers! {
            let tensors = entry["tensors"]!.objectMembers!.map { member in
                (member.key, Tensor(dtype: DType(rawValue: member.value["dtype"]!.stringValue!)!,
                                    shape: member.value["shape"]!.arrayValue!.map { $0.intValue! },
                                    first: member.value["first"]?.arrayValue?.map { $0.doubleValue! },
                                    sum: member.value["sum"]?.doubleValue,
                                    values: member.value["values"]?.arrayValue?.map { $0.doubleValue! }))
            }
            result[name] = ExpectedCheckpoint(
                name: name, layout: entry["layout"]?.stringValue, architecture: entry["architecture"]?.stringValue,
                files: entry["files"]?.arrayValue?.map { $0.stringValue! } ?? [],
                parameterCount: entry["parameter_count"]?.intValue, tensors: tensors)
        }
        return result
    }()

    /// The HF directory fixtures (every layout).
    public static let directories = ["ctc-safetensors", "ctc-sharded-f16", "ctc-bin", "ctc-bin-legacy-names", "ctc-sharded-bin",
                              "base-bare", "classification", "pretraining"]

    public static func directory(_ name: String) -> String { Fixtures.path("checkpoints/" + name) }
}
