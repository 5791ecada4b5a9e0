import UniSpeechKernels

/// One stage's output at its boundary in a forward pass, named by transformers' module path
/// (`feature_extractor.conv_layers.0`, `encoder.layers.3`, `lm_head` ...; the base model's prefix left out).
public struct StageOutput {
    /// transformers' module path of the stage.
    public let name: String
    /// The head the stage belongs to; `.base` for the base model's stages.
    public let head: ModelHead
    /// The output, [rows, columns]: `rowsPerItem` rows for each item of `items` in turn. An observer may overwrite it
    /// (same shape): the forward goes on with the values it wrote.
    public let values: MutableMatrix
    /// The batch items these rows hold (the feature encoder runs one item at a time).
    public let items: Range<Int>
    /// Real (unpadded) rows of each item in `items`; the rows past them are padding. 1 for one row per item.
    public let realRows: [Int]

    /// Rows each item takes.
    public var rowsPerItem: Int { items.isEmpty ? 0 : values.rows / items.count }
}

/// Called at every stage boundary of a forward pass, in graph order; may overwrite the stage's output.
public typealias StageObserver = (StageOutput) throws -> Void

/// The forward pass's handle on an observer: which head runs, and the real frames of every item at the encoder's
/// rate (a stage's real rows unless it says otherwise).
struct StageTap {
    let observer: StageObserver
    let head: ModelHead
    let frameLengths: [Int]

    /// Reports `values` ([items.count * rows per item, C]) as stage `name`: of the base model, or of the running head
    /// when `ofHead`. Real rows: `realRows`, else one per item when `onePerItem`, else the frame lengths.
    func callAsFunction(_ name: String, _ values: MutableMatrix, items: Range<Int>? = nil, realRows: [Int]? = nil,
                        onePerItem: Bool = false, ofHead: Bool = false) throws {
        let items = items ?? 0..<frameLengths.count
        let rows = realRows ?? (onePerItem ? Array(repeating: 1, count: items.count) : Array(frameLengths[items]))
        try observer(StageOutput(name: name, head: ofHead ? head : .base, values: values, items: items, realRows: rows))
    }

    /// Reports the running head's output array [rows, columns] as stage `name` (real rows as above).
    func callAsFunction(_ name: String, _ values: inout [Float], columns: Int, realRows: [Int]? = nil,
                        onePerItem: Bool = false) throws {
        try values.withMutableMatrix(rows: values.count / columns, columns: columns) { matrix in
            try self(name, matrix, realRows: realRows, onePerItem: onePerItem, ofHead: true)
        }
    }
}
