import CLibGit2

/// A git object id (SHA-1), always 40 lowercase hex characters.
public struct ObjectID: Hashable, Sendable, CustomStringConvertible, Codable {
    public let hex: String

    /// Accepts exactly 40 hex digits, in either case.
    public init?(hex: String) {
        guard hex.utf8.count == 40, hex.utf8.allSatisfy(\.isHexDigit) else { return nil }
        self.hex = hex.lowercased()
    }

    /// The first 12 characters, as printed on the first line of write commands.
    public var short: String { String(hex.prefix(12)) }

    public var description: String { hex }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = ObjectID(hex: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "not a 40-hex object id: \(text)")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }

    init(_ oid: git_oid) {
        let digits = Array("0123456789abcdef".utf8)
        var chars = [UInt8]()
        chars.reserveCapacity(40)
        withUnsafeBytes(of: oid.id) { bytes in
            for byte in bytes {
                chars.append(digits[Int(byte >> 4)])
                chars.append(digits[Int(byte & 0x0f)])
            }
        }
        hex = String(decoding: chars, as: UTF8.self)
    }

    init(_ pointer: UnsafePointer<git_oid>) {
        self.init(pointer.pointee)
    }

    /// The C value; `hex` is valid by construction, so parsing cannot fail.
    var oid: git_oid {
        var oid = git_oid()
        _ = hex.withCString { git_oid_fromstr(&oid, $0) }
        return oid
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self)
    }
}
