import Foundation

/// Builds an HTML document with inline SVG as text. Text and attribute values are escaped; every element is
/// closed where it is opened and empty ones close themselves (`<circle ... />`), so the output also parses as XML.
/// Element and attribute names are the caller's constants, never data.
public struct HTMLBuilder: Sendable {
    /// Attribute names and (unescaped) values, in order.
    public typealias Attributes = [(String, String)]

    /// The markup so far.
    public private(set) var output = ""

    public init() {}

    /// `text` with &, <, >, " and ' escaped, for element content and attribute values.
    public static func escaped(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.unicodeScalars.append(character)
            }
        }
        return result
    }

    private mutating func open(_ name: String, _ attributes: Attributes, selfClosing: Bool) {
        output += "<" + name
        for (key, value) in attributes { output += " \(key)=\"\(Self.escaped(value))\"" }
        output += selfClosing ? "/>" : ">"
    }

    /// An element with content written by `content`.
    public mutating func element(_ name: String, _ attributes: Attributes = [], _ content: (inout HTMLBuilder) -> Void) {
        open(name, attributes, selfClosing: false)
        content(&self)
        output += "</\(name)>"
    }

    /// An element holding only text.
    public mutating func element(_ name: String, _ attributes: Attributes = [], text: String) {
        open(name, attributes, selfClosing: false)
        output += Self.escaped(text)
        output += "</\(name)>"
    }

    /// An element without content, closed in place (`<meta charset="utf-8"/>`, `<rect .../>`).
    public mutating func empty(_ name: String, _ attributes: Attributes = []) {
        open(name, attributes, selfClosing: true)
    }

    /// Escaped text.
    public mutating func text(_ text: String) {
        output += Self.escaped(text)
    }

    /// A complete page: doctype, head with the title and the inline style sheet, and the body `content` writes.
    /// The style sheet is the caller's constant; it may not contain "<" or "&" (a style element's text is not escaped).
    public static func document(title: String, styleSheet: String, _ content: (inout HTMLBuilder) -> Void) -> String {
        precondition(!styleSheet.contains("<") && !styleSheet.contains("&"), "a style sheet may not contain < or &")
        var page = HTMLBuilder()
        page.output = "<!DOCTYPE html>\n"
        page.element("html", [("lang", "en"), ("xmlns", "http://www.w3.org/1999/xhtml")]) { html in
            html.element("head") { head in
                head.empty("meta", [("charset", "utf-8")])
                head.empty("meta", [("name", "viewport"), ("content", "width=device-width, initial-scale=1")])
                head.element("title", text: title)
                head.element("style") { $0.output += styleSheet }
            }
            html.element("body", [], content)
        }
        page.output += "\n"
        return page.output
    }
}
