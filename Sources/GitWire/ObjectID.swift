import Foundation

/// A git object id (SHA-1): 20 bytes, held as three words so that hashing and comparing it (as
/// a dictionary key in tree walks and pack writing) is cheap. `hex` is computed.
public struct ObjectID: Hashable, Sendable, CustomStringConvertible, Codable {
    private var a: UInt64, b: UInt64, c: UInt32

    /// The id whose bytes are the first 20 of `bytes`.
    public init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= 20, "an object id has 20 bytes")
        a = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        b = bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        c = bytes.loadUnaligned(fromByteOffset: 16, as: UInt32.self)
    }

    /// Accepts exactly 40 hex digits, in either case.
    public init?(hex: String) {
        var bytes = [UInt8](repeating: 0, count: 20)
        var index = 0
        for (position, char) in hex.utf8.enumerated() {
            guard position < 40, let nibble = Self.nibble(char) else { return nil }
            bytes[position / 2] |= position % 2 == 0 ? nibble << 4 : nibble
            index = position + 1
        }
        guard index == 40 else { return nil }
        self = bytes.withUnsafeBytes { ObjectID(bytes: $0) }
    }

    /// The SHA-1 of `data`, the digest itself as an id (the pack's trailing checksum is one).
    public static func sha1(_ data: Data) -> ObjectID {
        SHA1.hash(data).withUnsafeBytes { ObjectID(bytes: $0) }
    }

    /// Calls `body` with the 20 bytes.
    public func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        var words = (a, b, c)  // a tuple is laid out in order: the 20 bytes as read
        return try withUnsafeBytes(of: &words) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<20])) }
    }

    /// The 20 bytes.
    public var bytes: [UInt8] { withBytes { Array($0) } }

    /// 40 lowercase hex characters.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        return withBytes { bytes in
            String(unsafeUninitializedCapacity: 40) { out in
                for (i, byte) in bytes.enumerated() {
                    out[2 * i] = digits[Int(byte >> 4)]
                    out[2 * i + 1] = digits[Int(byte & 0x0f)]
                }
                return 40
            }
        }
    }

    /// The first 12 characters, as printed on the first line of write commands.
    public var short: String { String(hex.prefix(12)) }

    public var description: String { hex }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = ObjectID(hex: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a 40-hex object id: \(text)")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }

    private static func nibble(_ char: UInt8) -> UInt8? {
        switch char {
        case 0x30...0x39: char - 0x30
        case 0x41...0x46: char - 0x41 + 10
        case 0x61...0x66: char - 0x61 + 10
        default: nil
        }
    }
}
