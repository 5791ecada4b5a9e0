import Foundation
import Testing
import TestSupport
@testable import UniSpeechAudio
@testable import UniSpeechCore

/// The streaming reader gives, piece by piece, the samples the whole-file reader gives.
struct AudioStreamTests {
    /// Reads all of `stream` in pieces of `size`.
    static func readAll(_ stream: AudioStream, size: Int) throws -> [Float] {
        var all: [Float] = []
        while true {
            let piece = try stream.read(upTo: size)
            all += piece
            if piece.count < size { break }
        }
        #expect(try stream.read(upTo: size).isEmpty)
        return all
    }

    /// A 44.1 kHz stereo signal: two sines and a deterministic noise, `seconds` long.
    static func stereo(seconds: Double, rate: Int = 44_100) -> [Float] {
        var state: UInt32 = 12345
        return (0..<Int(seconds * Double(rate))).flatMap { frame -> [Float] in
            state = state &* 1_664_525 &+ 1_013_904_223
            let noise = Float(state >> 8) / Float(1 << 24) - 0.5
            let t = Float(frame) / Float(rate)
            return [0.3 * sin(2 * .pi * 440 * t) + 0.1 * noise, 0.3 * sin(2 * .pi * 1234 * t) - 0.1 * noise]
        }
    }

    @Test(arguments: [(1_000, 333), (4_097, 16_000), (65_536, 77_777), (1 << 20, 1 << 20)])
    func resampledPiecesEqualTheWholeFileResample(blockFrames: Int, size: Int) throws {
        let scratch = try ScratchDirectory("stream")
        let path = try scratch.write("long.wav", WAVBytes.pcm16(Self.stereo(seconds: 9.3), channels: 2, rate: 44_100))
        let whole = try AudioInput.decode(path: path, samplingRate: 16_000)
        let stream = try AudioStream(path: path, samplingRate: 16_000, blockFrames: blockFrames)
        #expect(stream.expectedSampleCount == whole.samples.count)
        #expect(stream.sourceSampleRate == 44_100 && stream.sourceChannels == 2)
        let streamed = try Self.readAll(stream, size: size)
        #expect(streamed.count == whole.samples.count)
        // Exact: libsoxr's stream resampler filters fixed blocks of its own whatever the pieces fed to it, and the
        // one-shot call is that same stream given everything at once.
        #expect(streamed == whole.samples)
    }

    @Test(arguments: [8_000, 22_050, 48_000])
    func otherRatesToo(rate: Int) throws {
        let scratch = try ScratchDirectory("stream")
        let path = try scratch.write("x.wav", WAVBytes.pcm16(Self.stereo(seconds: 3.01, rate: rate), channels: 2, rate: rate))
        let whole = try AudioInput.decode(path: path, samplingRate: 16_000)
        #expect(try Self.readAll(try AudioStream(path: path, samplingRate: 16_000, blockFrames: 3_001), size: 5_000) == whole.samples)
    }

    @Test func sameRateAndNpyAreReadAsTheyAre() throws {
        let chirp = Fixtures.path("audio/chirp-16k.flac")
        #expect(try Self.readAll(try AudioStream(path: chirp, samplingRate: 16_000), size: 333)
                == (try AudioInput.load(path: chirp, samplingRate: 16_000)).samples)
        let npy = Fixtures.path("golden/ctc_group_postln/input0.npy")
        let stream = try AudioStream(path: npy, samplingRate: 16_000)
        let expected = try AudioInput.load(path: npy, samplingRate: 16_000).samples
        #expect(stream.expectedSampleCount == expected.count && stream.sourceSampleRate == nil)
        #expect(try Self.readAll(stream, size: 100) == expected)
    }

    @Test func brokenFilesGiveTheWholeFileReadersErrors() throws {
        for name in ["text.wav", "zero-rate.wav"] {
            let path = Fixtures.path("audio/" + name)
            var expected = ""
            do { _ = try AudioFile.read(path: path) } catch { expected = error.localizedDescription }
            do {
                let stream = try AudioStream(path: path, samplingRate: 16_000)
                _ = try Self.readAll(stream, size: 1000)
                Issue.record("\(name) was read")
            } catch {
                #expect(error.localizedDescription == expected)
            }
        }
        let empty = Fixtures.path("audio/no-samples.wav")
        #expect(throws: AudioError.empty(path: empty)) { _ = try Self.readAll(try AudioStream(path: empty, samplingRate: 16_000), size: 10) }
    }
}
