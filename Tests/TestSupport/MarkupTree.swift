import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An element of a parsed XML / XHTML document, for tests of the HTML reports: its name, attributes and children.
public final class MarkupElement {
    public let name: String
    public let attributes: [String: String]
    public private(set) var children: [MarkupElement] = []
    /// The text directly inside this element.
    public fileprivate(set) var text = ""

    init(name: String, attributes: [String: String]) {
        self.name = name
        self.attributes = attributes
    }

    /// The classes of the `class` attribute.
    public var classes: Set<String> { Set((attributes["class"] ?? "").split(separator: " ").map(String.init)) }

    /// This element and every element below it, in document order.
    public var descendants: [MarkupElement] { [self] + children.flatMap(\.descendants) }

    /// Every element below (and including) this one named `name`, with `className` among its classes when given.
    public func all(_ name: String, className: String? = nil) -> [MarkupElement] {
        descendants.filter { $0.name == name && (className.map($0.classes.contains) ?? true) }
    }

    fileprivate func append(_ child: MarkupElement) { children.append(child) }
}

/// Parses a document as XML with Foundation's XMLParser; a document that is not well-formed (an unclosed or
/// misnested tag, a bad entity) is an error naming the line.
public enum MarkupTree {
    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ text: String) throws -> MarkupElement {
        let parser = XMLParser(data: Data(text.utf8))
        let builder = Builder()
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else {
            throw ParseError(description: "line \(parser.lineNumber), column \(parser.columnNumber): "
                             + (parser.parserError.map { "\($0)" } ?? "no root element"))
        }
        return root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var stack: [MarkupElement] = []
        var root: MarkupElement?

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String]) {
            let element = MarkupElement(name: elementName, attributes: attributes)
            if let parent = stack.last { parent.append(element) } else { root = element }
            stack.append(element)
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            stack.removeLast()
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            stack.last?.text += string
        }
    }
}
