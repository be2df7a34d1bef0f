import Foundation

/// The id of the HTTP request an operation serves, so the committer's lines about a batch can
/// name the requests in it. The server sets it around each request; `Committer.submit` reads it.
public enum RequestID {
    @TaskLocal public static var current: String?

    /// At most 128 characters of letters, digits, '.', '_' and '-': safe to echo in a header and
    /// to write in a log line.
    public static func isSane(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 128
            && text.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D
            }
    }

    /// A new id: 16 random bytes as 32 lowercase hex digits.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
