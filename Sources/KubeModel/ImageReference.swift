/// An OCI image reference: `[registry[:port]/]path[:tag][@algorithm:hex]`, checked against the
/// grammar of the distribution spec.
public struct ImageReference: Sendable, Hashable, CustomStringConvertible {
    /// `registry/path` without tag or digest.
    public let repository: String
    public let tag: String?
    public let digest: String?

    public var description: String {
        repository + (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0 } ?? "")
    }

    /// The reference with the tag dropped when a digest pins it (what a pinned manifest names).
    public var pinned: String { digest.map { repository + "@" + $0 } ?? description }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case invalid(String, String)
        public var description: String {
            switch self { case let .invalid(ref, rule): return "image reference \(YAMLEmitter.quoted(ref)): \(rule)" }
        }
    }

    public init(parsing text: String) throws(ParseError) {
        func fail(_ rule: String) -> ParseError { .invalid(text, rule) }
        guard !text.isEmpty else { throw fail("must not be empty") }
        guard text.utf8.count <= 512 else { throw fail("must be at most 512 characters") }
        guard text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }) else {
            throw fail("must be printable ASCII with no spaces")
        }
        var rest = Substring(text)
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            let d = String(rest[rest.index(after: at)...])
            guard ImageReference.isDigest(d) else { throw fail("digest must be sha256:<64 lower-case hex digits> or sha512:<128>") }
            digest = d
            rest = rest[..<at]
        }
        var tag: String?
        // A ':' after the last '/' starts the tag; before it, it is a registry port.
        let lastSlash = rest.lastIndex(of: "/")
        if let colon = rest.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
            let t = String(rest[rest.index(after: colon)...])
            guard ImageReference.isTag(t) else { throw fail("tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}") }
            tag = t
            rest = rest[..<colon]
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var registry: String?
        if components.count > 1, let first = components.first,
           first.contains(".") || first.contains(":") || first == "localhost" {
            guard ImageReference.isRegistry(first) else { throw fail("registry \"\(first)\" must be a host name with an optional port") }
            registry = first
            components.removeFirst()
        }
        guard !components.isEmpty, components.allSatisfy(ImageReference.isPathComponent) else {
            throw fail("repository path must be lower-case alphanumerics separated by '.', '_', '__', '-' or '/'")
        }
        self.repository = ([registry].compactMap { $0 } + components).joined(separator: "/")
        self.tag = tag
        self.digest = digest
    }

    static func isDigest(_ s: String) -> Bool {
        let parts = s.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty,
              parts[0].allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || "+.-_".contains($0)) }) else { return false }
        let hex = parts[1]
        // The algorithms the OCI image spec registers.
        if parts[0] == "sha256" { return hex.count == 64 && hex.allSatisfy(\.isLowerHex) }
        if parts[0] == "sha512" { return hex.count == 128 && hex.allSatisfy(\.isLowerHex) }
        return false
    }

    static func isTag(_ s: String) -> Bool {
        guard let first = s.first, s.count <= 128, first.isASCII, first.isLetter || first.isNumber || first == "_" else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
    }

    static func isPathComponent(_ s: String) -> Bool {
        // [a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*
        let b = Array(s.utf8)
        func alnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }
        guard let f = b.first, let l = b.last, alnum(f), alnum(l) else { return false }
        var i = 0
        while i < b.count {
            if alnum(b[i]) { i += 1; continue }
            var j = i
            while j < b.count, !alnum(b[j]) { j += 1 }
            let sep = String(decoding: b[i..<j], as: UTF8.self)
            guard sep == "." || sep == "_" || sep == "__" || sep.allSatisfy({ $0 == "-" }) else { return false }
            i = j
        }
        return true
    }

    static func isRegistry(_ s: String) -> Bool {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return false }
        if parts.count == 2 {
            guard parts[1].first != "0", parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(parts[1]), port > 0, port < 65536 else {
                return false
            }
        }
        let host = parts[0]
        return !host.isEmpty && host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            guard let f = label.first, let l = label.last, f.isASCII, f.isLetter || f.isNumber, l.isLetter || l.isNumber else { return false }
            return label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }
}

extension Character {
    fileprivate var isLowerHex: Bool { isASCII && (isNumber || ("a"..."f").contains(self)) }
}
