import Crypto
import Foundation
import KubeModel
import Templates

/// Roles in increasing power: a higher role may do everything a lower one may.
public enum Role: String, Sendable, Codable, Comparable, CaseIterable {
    case reader, deployer
    case releaseManager = "release-manager"

    var rank: Int { Role.allCases.firstIndex(of: self)! }
    public static func < (a: Role, b: Role) -> Bool { a.rank < b.rank }
}

/// Who is calling, once the bearer token has matched.
public struct Caller: Sendable, Equatable {
    public var name: String
    public var role: Role

    public init(name: String, role: Role) { self.name = name; self.role = role }
}

/// The tokens file: names, roles and SHA-256 digests of tokens, never the tokens.
public struct TokenStore: Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public var name: String
        public var role: Role
        public var sha256: String

        public init(name: String, role: Role, sha256: String) { self.name = name; self.role = role; self.sha256 = sha256 }
    }

    struct File: Codable { var tokens: [Entry] }

    public let entries: [Entry]
    private let digests: [(Entry, [UInt8])]

    public init(entries: [Entry]) throws {
        var seen = Set<String>()
        var digests: [(Entry, [UInt8])] = []
        for (index, entry) in entries.enumerated() {
            guard let bytes = Self.hexBytes(entry.sha256), bytes.count == 32 else {
                throw InputError(code: "invalid_tokens", field: "tokens[\(index)].sha256", rule: "must be 64 hex digits (the SHA-256 of the token)")
            }
            guard NameRules.isLabelValue(entry.name), !entry.name.isEmpty else {
                throw InputError(code: "invalid_tokens", field: "tokens[\(index)].name", rule: "must be 1-63 letters, digits, '-', '_' or '.'")
            }
            guard seen.insert(entry.sha256.lowercased()).inserted else {
                throw InputError(code: "invalid_tokens", field: "tokens[\(index)].sha256", rule: "must be unique")
            }
            digests.append((entry, bytes))
        }
        self.entries = entries
        self.digests = digests
    }

    public static func load(path: String) throws -> TokenStore {
        let file = try StrictYAML.decode(File.self, file: URL(fileURLWithPath: path))
        return try TokenStore(entries: file.tokens)
    }

    /// The caller whose token hashes to a listed digest. Every entry is compared, in constant
    /// time, so the time taken says nothing about which digest came close.
    public func authenticate(token: String) -> Caller? {
        let digest = Array(SHA256.hash(data: Data(token.utf8)))
        var found: Caller?
        for (entry, expected) in digests {
            var difference: UInt8 = 0
            for i in 0..<32 { difference |= expected[i] ^ digest[i] }
            if difference == 0 { found = Caller(name: entry.name, role: entry.role) }
        }
        return found
    }

    public static func sha256Hex(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// A new random token: 32 bytes from the system's CSPRNG, URL-safe.
    public static func generateToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return "mf_" + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The line to add under `tokens:`.
    public static func entryLine(name: String, role: Role, token: String) -> String {
        "  - {name: \(name), role: \(role.rawValue), sha256: \(sha256Hex(token))}"
    }

    private static func hexBytes(_ hex: String) -> [UInt8]? {
        let chars = Array(hex.lowercased().utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 97...102: return c - 87
        default: return nil
        }
    }
}
