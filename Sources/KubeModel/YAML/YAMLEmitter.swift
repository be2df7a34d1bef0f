/// Writes `YAMLNode`s as block-style YAML in the layout `kubectl` uses: two-space indent,
/// sequence items at the indentation of their key, no line folding.
public enum YAMLEmitter {
    /// One document, ending with a newline.
    public static func emit(_ node: YAMLNode) -> String {
        var out = ""
        out.reserveCapacity(2048)
        write(node, indent: 0, into: &out, context: .document)
        if !out.hasSuffix("\n") { out.append("\n") }
        return out
    }

    /// Several documents, each opened with `---`.
    public static func emitStream(_ nodes: [YAMLNode]) -> String {
        var out = ""
        for node in nodes {
            out.append("---\n")
            out.append(emit(node))
        }
        return out
    }

    private enum Context { case document, mappingValue, sequenceItem }

    private static func write(_ node: YAMLNode, indent: Int, into out: inout String, context: Context) {
        switch node {
        case .string(let s):
            out.append(scalar(s))
            out.append("\n")
        case .int(let i):
            out.append(String(i))
            out.append("\n")
        case .bool(let b):
            out.append(b ? "true\n" : "false\n")
        case .sequence(let items):
            if items.isEmpty {
                out.append("[]\n")
                return
            }
            if context == .mappingValue { out.append("\n") }
            for (index, item) in items.enumerated() {
                // The first item of a sequence nested directly in a sequence shares its line.
                if !(context == .sequenceItem && index == 0) { pad(indent, &out) }
                out.append("- ")
                write(item, indent: indent + 2, into: &out, context: .sequenceItem)
            }
        case .mapping(let fields):
            if fields.isEmpty {
                out.append("{}\n")
                return
            }
            if context == .mappingValue { out.append("\n") }
            for (index, (key, value)) in fields.enumerated() {
                if !(context == .sequenceItem && index == 0) { pad(indent, &out) }
                out.append(scalar(key))
                out.append(":")
                switch value {
                case .sequence(let items) where !items.isEmpty:
                    // Kubernetes style: list items start at the key's indentation.
                    write(value, indent: indent, into: &out, context: .mappingValue)
                case .mapping(let inner) where !inner.isEmpty:
                    write(value, indent: indent + 2, into: &out, context: .mappingValue)
                default:
                    out.append(" ")
                    write(value, indent: indent + 2, into: &out, context: .mappingValue)
                }
            }
        }
    }

    private static func pad(_ n: Int, _ out: inout String) {
        out.append(String(repeating: " ", count: n))
    }

    // MARK: - Scalars

    /// Words that a YAML 1.1 reader turns into booleans or null.
    private static let specialWords: Set<String> = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
    ]

    /// The string as a plain scalar when no YAML 1.1 or 1.2 reader could misread it,
    /// otherwise double-quoted.
    public static func scalar(_ s: String) -> String {
        isSafePlain(s) ? s : quoted(s)
    }

    static func isSafePlain(_ s: String) -> Bool {
        let bytes = Array(s.utf8)
        guard let first = bytes.first, let last = bytes.last else { return false }
        // Numbers, dates, sexagesimals, .inf and signed values all start like this.
        if isDigit(first) || first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".") {
            return false
        }
        if !(isLetter(first) || first == UInt8(ascii: "/") || first == UInt8(ascii: "_")) { return false }
        if last == UInt8(ascii: ":") { return false }
        for b in bytes where !(isLetter(b) || isDigit(b) || allowedPunctuation.contains(b)) {
            return false
        }
        return !specialWords.contains(s.lowercased())
    }

    private static let allowedPunctuation: Set<UInt8> = Set("_./@:+=-".utf8)

    private static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    private static func isLetter(_ b: UInt8) -> Bool { (b >= 65 && b <= 90) || (b >= 97 && b <= 122) }

    public static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\t": out.append("\\t")
            case "\r": out.append("\\r")
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (scalar.value >= 0x80 && scalar.value < 0xA0)
                    || scalar.value == 0x2028 || scalar.value == 0x2029 || scalar.value == 0xFEFF {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    out.append("\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append("\"")
        return out
    }
}
