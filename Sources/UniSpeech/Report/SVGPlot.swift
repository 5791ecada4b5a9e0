import Foundation

/// A named series of a line plot: one value per stage (non-finite values are drawn on the plot's edge).
public struct PlotSeries: Sendable, Equatable {
    public var name: String
    public var values: [Double]

    public init(name: String, values: [Double]) {
        self.name = name
        self.values = values
    }
}

/// A labelled horizontal line across a line plot, e.g. a threshold.
public struct PlotGuide: Sendable, Equatable {
    public var name: String
    public var value: Double

    public init(name: String, value: Double) {
        self.name = name
        self.value = value
    }
}

/// A labelled stretch of time in seconds (end exclusive).
public struct TimeSpan: Sendable, Equatable {
    public var label: String
    public var start: Double
    public var end: Double

    public init(label: String, start: Double, end: Double) {
        self.label = label
        self.start = start
        self.end = end
    }
}

/// One row of spans drawn over a waveform, e.g. one model's CTC tokens.
public struct SpanLane: Sendable, Equatable {
    public var name: String
    public var spans: [TimeSpan]

    public init(name: String, spans: [TimeSpan]) {
        self.name = name
        self.spans = spans
    }
}

/// Inline SVG figures for the HTML reports: named series against named stages, and a waveform on a time axis with
/// lanes of labelled spans over it. Every point is a `circle class="point"` inside its series' `g class="series"`,
/// every span a `rect class="span"` inside its lane's `g class="lane"`, so a test can count them.
public enum SVGPlot {
    /// Colours told apart by people with any common colour vision (Okabe and Ito), one per series or lane in turn.
    public static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]

    /// The palette's colour for series or lane `index`.
    public static func color(_ index: Int) -> String { palette[index % palette.count] }

    static let namespace = "http://www.w3.org/2000/svg"
    static let fontSize = 11.0
    /// Width of one character of the report's sans-serif font at `fontSize`, roughly, for layout.
    static let characterWidth = 6.5

    /// A coordinate or length with at most two decimals ("12.5", "3").
    static func number(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.2f", rounded)
            .replacingOccurrences(of: #"0+$"#, with: "", options: .regularExpression)
    }

    /// Round tick values (steps of 1, 2 or 5 times a power of ten) covering `low...high`, about `count` of them.
    static func ticks(from low: Double, to high: Double, count: Int) -> [Double] {
        guard high > low, count > 0 else { return [low] }
        let rough = (high - low) / Double(count)
        let power = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough } ?? 10 * power
        var values: [Double] = []
        var value = (low / step).rounded(.up) * step
        while value <= high + step * 1e-9 {
            values.append(abs(value) < step * 1e-9 ? 0 : value)
            value += step
        }
        return values
    }

    /// A tick label: as few decimals as the step needs.
    static func tickLabel(_ value: Double, step: Double) -> String {
        let decimals = min(6, max(0, Int(-floor(log10(step)))))
        return String(format: "%.\(decimals)f", value)
    }

    /// Series of values against named stages (x: the stages in order, labelled by name; y: the values), one point per
    /// value; lines join consecutive finite values; +inf is drawn as a hollow point on the top edge, -inf and NaN on
    /// the bottom one, each edge then a band beyond the scale labelled "inf" / "nan". `guides` are dashed horizontal lines (`line class="guide"`); the stage at `highlighted` gets a
    /// tinted column (`rect class="highlight"`) and a bold label.
    public static func lines(title: String, stages: [String], series: [PlotSeries], yLabel: String, guides: [PlotGuide] = [],
                             highlighted: Int? = nil, into html: inout HTMLBuilder) {
        let shownStage = { (name: String) in name.count <= 40 ? name : String(name.prefix(39)) + "…" }
        let longest = Double(stages.map { shownStage($0).count }.max() ?? 0)
        let right = 20.0, top = 34.0, plotHeight = 240.0
        // Labels are turned 45 degrees: each reaches down and to the left by about 0.72 of its length.
        let labelReach = longest * characterWidth * 0.72
        let bottom = min(240, 24 + labelReach)
        let plotWidth = max(480, 34 * Double(stages.count))
        let left = max(70, labelReach + 10 - plotWidth / Double(max(stages.count, 1)) / 2)
        let width = left + plotWidth + right, height = top + plotHeight + bottom
        let finite = (series.flatMap(\.values) + guides.map(\.value)).filter(\.isFinite)
        var low = finite.min() ?? 0, high = finite.max() ?? 1
        if low == high {
            let pad = low == 0 ? 1 : abs(low) * 0.1
            low -= pad
            high += pad
        }
        var tickValues = ticks(from: low, to: high, count: 5)
        let step = tickValues.count > 1 ? tickValues[1] - tickValues[0] : high - low
        if tickValues.count > 1 {  // the scale runs from a tick at or below the lowest value to one at or above the highest
            low = (low / step + 1e-9).rounded(.down) * step
            high = (high / step - 1e-9).rounded(.up) * step
            tickValues = stride(from: low, through: high + step * 1e-9, by: step).map { abs($0) < step * 1e-9 ? 0 : $0 }
        }
        low = min(low, tickValues.first ?? low)
        high = max(high, tickValues.last ?? high)
        // Off-scale values get a band of their own beyond the last tick, labelled, so they never sit on a value.
        let values = series.flatMap(\.values)
        let aboveScale = values.contains(.infinity), belowScale = values.contains { !$0.isFinite && $0 != .infinity }
        let band = (high - low) * 0.1
        if aboveScale { high += band }
        if belowScale { low -= band }
        func x(_ stage: Int) -> Double { left + (Double(stage) + 0.5) * plotWidth / Double(max(stages.count, 1)) }
        func y(_ value: Double) -> Double {
            if value == .infinity { return top }
            guard value.isFinite else { return top + plotHeight }
            return top + plotHeight - (value - low) / (high - low) * plotHeight
        }

        html.element("svg", [("xmlns", namespace), ("class", "plot lines"), ("width", number(width)), ("height", number(height)),
                             ("viewBox", "0 0 \(number(width)) \(number(height))"), ("role", "img")]) { svg in
            svg.element("title", text: title)
            if let highlighted, stages.indices.contains(highlighted) {
                let column = plotWidth / Double(stages.count)
                svg.empty("rect", [("class", "highlight"), ("x", number(x(highlighted) - column / 2)), ("y", number(top)),
                                   ("width", number(column)), ("height", number(plotHeight))])
            }
            svg.element("g", [("class", "axes"), ("font-size", number(fontSize))]) { axes in
                for value in tickValues {
                    axes.empty("line", [("class", "grid"), ("x1", number(left)), ("x2", number(left + plotWidth)),
                                        ("y1", number(y(value))), ("y2", number(y(value)))])
                    axes.element("text", [("x", number(left - 6)), ("y", number(y(value) + 4)), ("text-anchor", "end")],
                                 text: tickLabel(value, step: step))
                }
                axes.empty("rect", [("class", "frame"), ("x", number(left)), ("y", number(top)), ("width", number(plotWidth)),
                                    ("height", number(plotHeight))])
                if aboveScale {
                    axes.element("text", [("x", number(left - 6)), ("y", number(top + 4)), ("text-anchor", "end")], text: "inf")
                }
                if belowScale {
                    axes.element("text", [("x", number(left - 6)), ("y", number(top + plotHeight + 4)), ("text-anchor", "end")],
                                 text: "nan")
                }
                for (index, stage) in stages.enumerated() {
                    let anchorY = top + plotHeight + 12
                    axes.element("text", [("x", number(x(index))), ("y", number(anchorY)), ("text-anchor", "end"),
                                          ("transform", "rotate(-45 \(number(x(index))) \(number(anchorY)))")]
                                 + (index == highlighted ? [("class", "highlight")] : []),
                                 text: shownStage(stage))
                }
                let labelX = number(left - 48)
                axes.element("text", [("x", labelX), ("y", number(top + plotHeight / 2)), ("text-anchor", "middle"),
                                      ("transform", "rotate(-90 \(labelX) \(number(top + plotHeight / 2)))")], text: yLabel)
            }
            for guide in guides where guide.value.isFinite {
                svg.element("g", [("class", "guide"), ("font-size", number(fontSize))]) { group in
                    group.empty("line", [("class", "guide"), ("x1", number(left)), ("x2", number(left + plotWidth)),
                                         ("y1", number(y(guide.value))), ("y2", number(y(guide.value)))])
                    group.element("text", [("x", number(left + plotWidth - 4)), ("y", number(y(guide.value) - 4)),
                                           ("text-anchor", "end")], text: guide.name)
                }
            }
            var legendX = left
            for (index, item) in series.enumerated() {
                svg.element("g", [("class", "legend"), ("font-size", number(fontSize))]) { legend in
                    legend.empty("rect", [("x", number(legendX)), ("y", "10"), ("width", "12"), ("height", "12"),
                                          ("fill", color(index))])
                    legend.element("text", [("x", number(legendX + 16)), ("y", "20")], text: item.name)
                }
                legendX += 36 + Double(item.name.count) * characterWidth
            }
            for (index, item) in series.enumerated() {
                svg.element("g", [("class", "series"), ("data-name", item.name), ("stroke", color(index)),
                                  ("fill", color(index))]) { group in
                    var run: [String] = []
                    func flush(_ group: inout HTMLBuilder) {
                        if run.count > 1 { group.empty("polyline", [("fill", "none"), ("points", run.joined(separator: " "))]) }
                        run = []
                    }
                    for (stage, value) in item.values.enumerated() where stage < stages.count {
                        if value.isFinite { run.append("\(number(x(stage))),\(number(y(value)))") } else { flush(&group) }
                    }
                    flush(&group)
                    // Each series' points a little smaller than the last one's, so equal values show as rings.
                    let radius = max(2, 4.5 - Double(index))
                    for (stage, value) in item.values.enumerated() where stage < stages.count {
                        group.element("circle", [("class", value.isFinite ? "point" : "point off-scale"), ("cx", number(x(stage))),
                                                 ("cy", number(y(value))), ("r", number(radius))] + (value.isFinite ? [] : [("fill", "white")])) {
                            $0.element("title", text: "\(item.name), \(stages[stage]): \(value)")
                        }
                    }
                }
            }
        }
    }

    /// Pixels per second of a waveform plot, so a 20 ms CTC frame is 10 px wide; the plot stays within
    /// `waveformWidths` (longer audio is squeezed).
    static let pixelsPerSecond = 500.0
    static let waveformWidths = 900.0...6000.0

    /// A waveform (the min / max of the samples in each pixel column) on a time axis, with each lane's spans drawn
    /// over it as labelled boxes in the lane's colour, one band of the plot's height per lane.
    public static func waveform(title: String, samples: [Float], samplingRate: Int, lanes: [SpanLane], into html: inout HTMLBuilder) {
        let duration = Double(samples.count) / Double(max(samplingRate, 1))
        let longestName = Double(lanes.map(\.name.count).max() ?? 0)
        let left = max(60, 16 + longestName * characterWidth), right = 16.0, top = 8.0, bottom = 30.0
        let plotWidth = min(max(duration * pixelsPerSecond, waveformWidths.lowerBound), waveformWidths.upperBound)
        let plotHeight = max(150, 40 * Double(lanes.count))
        let width = left + plotWidth + right, height = top + plotHeight + bottom
        func x(_ seconds: Double) -> Double { left + (duration > 0 ? seconds / duration : 0) * plotWidth }

        html.element("svg", [("xmlns", namespace), ("class", "plot waveform"), ("width", number(width)), ("height", number(height)),
                             ("viewBox", "0 0 \(number(width)) \(number(height))"), ("role", "img")]) { svg in
            svg.element("title", text: title)
            let timeTicks = ticks(from: 0, to: duration, count: max(2, Int(plotWidth / 100)))
            let timeStep = timeTicks.count > 1 ? timeTicks[1] - timeTicks[0] : max(duration, 1)
            svg.element("g", [("class", "axes"), ("font-size", number(fontSize))]) { axes in
                axes.empty("rect", [("class", "frame"), ("x", number(left)), ("y", number(top)), ("width", number(plotWidth)),
                                    ("height", number(plotHeight))])
                for tick in timeTicks {
                    axes.empty("line", [("class", "grid"), ("x1", number(x(tick))), ("x2", number(x(tick))), ("y1", number(top)),
                                        ("y2", number(top + plotHeight + 4))])
                    axes.element("text", [("x", number(x(tick))), ("y", number(top + plotHeight + 17)), ("text-anchor", "middle")],
                                 text: tickLabel(tick, step: timeStep) + " s")
                }
            }
            let columns = max(1, Int(plotWidth))
            let peak = Double(samples.map { abs($0) }.max() ?? 0)
            let middle = top + plotHeight / 2, halfHeight = plotHeight / 2 - 4
            if !samples.isEmpty {
                var upper: [String] = [], lower: [String] = []
                for column in 0..<columns {
                    let start = column * samples.count / columns
                    let end = max(start + 1, (column + 1) * samples.count / columns)
                    let slice = samples[start..<min(end, samples.count)]
                    let columnX = number(left + (Double(column) + 0.5) * plotWidth / Double(columns))
                    let scale = peak > 0 ? halfHeight / peak : 0
                    upper.append("\(columnX),\(number(middle - Double(slice.max()!) * scale))")
                    lower.append("\(columnX),\(number(middle - Double(slice.min()!) * scale))")
                }
                svg.empty("path", [("class", "envelope"), ("d", "M" + (upper + lower.reversed()).joined(separator: " L") + " Z")])
            }
            for (index, lane) in lanes.enumerated() {
                let bandHeight = plotHeight / Double(max(lanes.count, 1))
                let bandTop = top + Double(index) * bandHeight
                svg.element("g", [("class", "lane"), ("data-name", lane.name), ("stroke", color(index)),
                                  ("font-size", number(fontSize))]) { group in
                    group.element("text", [("class", "lane-name"), ("x", number(left - 8)), ("y", number(bandTop + bandHeight / 2 + 4)),
                                           ("text-anchor", "end"), ("fill", color(index)), ("stroke", "none")], text: lane.name)
                    for span in lane.spans {
                        let spanX = x(span.start), spanWidth = max(1, x(span.end) - x(span.start))
                        group.element("rect", [("class", "span"), ("x", number(spanX)), ("y", number(bandTop + 3)),
                                               ("width", number(spanWidth)), ("height", number(bandHeight - 6)),
                                               ("fill", color(index))]) {
                            $0.element("title", text: "\(lane.name): \(span.label) \(String(format: "%.2f", span.start))–\(String(format: "%.2f", span.end)) s")
                        }
                        if spanWidth >= characterWidth * Double(span.label.count) {
                            group.element("text", [("class", "span-label"), ("x", number(spanX + spanWidth / 2)),
                                                   ("y", number(bandTop + bandHeight / 2 + 4)), ("text-anchor", "middle"),
                                                   ("stroke", "none")], text: span.label)
                        }
                    }
                }
            }
        }
    }
}
