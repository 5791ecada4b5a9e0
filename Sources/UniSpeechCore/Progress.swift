/// Where long work (convert, quantise, verify, batches of audio) reports how far it is. The library never draws;
/// the command line shows these on a terminal and an app does what it likes.
public typealias ProgressHandler = @Sendable (ProgressEvent) -> Void

/// One report of a long operation.
public enum ProgressEvent: Sendable, Equatable {
    /// What is being done now, e.g. "[3/12] encoder.layers.2.attention.q_proj.weight".
    case step(String)
    /// The operation finished (or stopped); the last step line may be cleared.
    case finished
}
