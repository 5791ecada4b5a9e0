import Foundation

/// The style sheet of the HTML reports (eval, verify): system fonts only, nothing fetched.
public enum ReportStyle {
    public static let sheet = """
        body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
               margin: 24px 32px; color: #1a1a1a; background: #fff; }
        h1 { font-size: 22px; margin-bottom: 4px; }
        h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
        h3 { font-size: 15px; margin: 20px 0 6px; }
        p.meta, p.note { color: #555; font-size: 13px; margin: 4px 0; }
        table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
        th, td { border: 1px solid #d0d0d0; padding: 3px 8px; text-align: left; vertical-align: top; }
        th { background: #f3f3f3; font-weight: 600; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        td.model { white-space: nowrap; }
        .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
        td.wrong { background: #fde8e8; }
        td.right { background: #e8f5ec; }
        tr.first td { border-top: 2px solid #b0b0b0; }
        .swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; vertical-align: baseline; }
        .figure { overflow-x: auto; margin: 6px 0 20px; }
        svg.plot { background: #fff; }
        svg .frame { fill: none; stroke: #999; }
        svg .grid { stroke: #e6e6e6; }
        svg .axes text, svg .legend text { fill: #333; }
        svg .envelope { fill: #a3adb9; stroke: none; }
        svg rect.span { fill-opacity: 0.2; stroke-width: 1; }
        svg .span-label { fill: #111; }
        svg .series polyline { stroke-width: 1.5; }
        svg rect.highlight { fill: #fde8e8; stroke: none; }
        svg text.highlight { font-weight: 700; fill: #b00020; }
        svg line.guide { stroke: #b00020; stroke-dasharray: 5 4; stroke-width: 1; }
        svg g.guide text { fill: #b00020; }
        tr.divergent td { background: #fde8e8; font-weight: 600; }
        p.verdict { font-size: 15px; margin: 10px 0; }
        p.verdict .fail, .fail { color: #b00020; font-weight: 700; }
        p.verdict .pass, .pass { color: #067d3a; font-weight: 700; }
        """
}
