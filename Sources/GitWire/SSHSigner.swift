import Crypto
import Foundation

/// Signs commits as `git commit -S` does with `gpg.format=ssh`: an SSHSIG signature (namespace
/// `git`, SHA-512) over the commit object, armoured, for the commit's `gpgsig` header. The key is
/// an unencrypted OpenSSH Ed25519 private key, read once at start; it is never printed.
public struct SSHSigner: Sendable, CustomStringConvertible {
    /// The Ed25519 seed (the private key's first 32 bytes).
    private let seed: Data
    /// The public key in SSH wire format (`string "ssh-ed25519", string key`).
    private let publicBlob: Data
    /// Where the key came from, for messages.
    public let file: String

    /// `ssh-ed25519 AAAA…`, as an allowed-signers file or Gitea's key page takes it.
    public var publicKeyLine: String { "ssh-ed25519 " + publicBlob.base64EncodedString() }

    public var description: String { "SSHSigner(\(file), \(publicKeyLine))" }

    public struct KeyError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads and parses the key at `path`; every failure names the file and what is wrong.
    public init(keyFile path: String) throws {
        func fail(_ rule: String) -> KeyError { KeyError(description: "signing key \(path): \(rule)") }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw fail("cannot be read") }
        let begin = "-----BEGIN OPENSSH PRIVATE KEY-----", end = "-----END OPENSSH PRIVATE KEY-----"
        guard let from = text.range(of: begin), let to = text.range(of: end), from.upperBound <= to.lowerBound else {
            throw fail("is not an OpenSSH private key (no BEGIN OPENSSH PRIVATE KEY block)")
        }
        let body = text[from.upperBound..<to.lowerBound].filter { !$0.isWhitespace }
        guard let data = Data(base64Encoded: String(body)) else { throw fail("is not valid base64") }
        var reader = SSHReader(data)
        guard reader.bytes(15) == Data("openssh-key-v1\0".utf8) else { throw fail("is not an openssh-key-v1 key") }
        guard let cipher = reader.string(), let kdf = reader.string(), reader.string() != nil else { throw fail("is truncated") }
        guard cipher == Data("none".utf8), kdf == Data("none".utf8) else {
            throw fail("is encrypted; give Manifestor a key without a passphrase (ssh-keygen -p -N '' -f KEY)")
        }
        guard reader.uint32() == 1, let publicBlob = reader.string(), let privateBlob = reader.string() else {
            throw fail("must hold exactly one key")
        }
        var inner = SSHReader(privateBlob)
        guard let check1 = inner.uint32(), let check2 = inner.uint32(), check1 == check2 else { throw fail("is corrupt (check words differ)") }
        guard inner.string() == Data("ssh-ed25519".utf8) else { throw fail("must be an Ed25519 key (ssh-keygen -t ed25519)") }
        guard let publicKey = inner.string(), publicKey.count == 32, let secret = inner.string(), secret.count == 64 else {
            throw fail("is corrupt (Ed25519 key lengths)")
        }
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: secret.prefix(32)),
              key.publicKey.rawRepresentation == publicKey else { throw fail("is corrupt (its public key does not match)") }
        self.seed = key.rawRepresentation
        self.publicBlob = publicBlob
        self.file = path
    }

    /// The armoured SSHSIG signature of `message` (the commit object without its signature).
    public func sign(_ message: Data) throws -> String {
        let namespace = Data("git".utf8), hashName = Data("sha512".utf8)
        var signed = Data("SSHSIG".utf8)
        signed.appendSSHString(namespace)
        signed.appendSSHString(Data())
        signed.appendSSHString(hashName)
        signed.appendSSHString(Data(SHA512.hash(data: message)))
        let raw = try Curve25519.Signing.PrivateKey(rawRepresentation: seed).signature(for: signed)
        var signature = Data()
        signature.appendSSHString(Data("ssh-ed25519".utf8))
        signature.appendSSHString(Data(raw))
        var blob = Data("SSHSIG".utf8)
        blob.appendUInt32(1)
        blob.appendSSHString(publicBlob)
        blob.appendSSHString(namespace)
        blob.appendSSHString(Data())
        blob.appendSSHString(hashName)
        blob.appendSSHString(signature)
        let base64 = Array(blob.base64EncodedString())
        let lines = stride(from: 0, to: base64.count, by: 70).map { String(base64[$0..<min($0 + 70, base64.count)]) }
        return "-----BEGIN SSH SIGNATURE-----\n" + lines.joined(separator: "\n") + "\n-----END SSH SIGNATURE-----"
    }
}

/// Reads SSH wire-format values: big-endian uint32 and length-prefixed strings.
private struct SSHReader {
    private let data: Data
    private var offset: Int

    init(_ data: Data) { self.data = Data(data); offset = 0 }

    mutating func bytes(_ count: Int) -> Data? {
        guard count >= 0, offset + count <= data.count else { return nil }
        defer { offset += count }
        return data.subdata(in: offset..<(offset + count))
    }

    mutating func uint32() -> UInt32? {
        bytes(4).map { $0.reduce(0) { $0 << 8 | UInt32($1) } }
    }

    mutating func string() -> Data? {
        guard let length = uint32(), length <= UInt32(data.count) else { return nil }
        return bytes(Int(length))
    }
}

extension Data {
    fileprivate mutating func appendUInt32(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)])
    }

    fileprivate mutating func appendSSHString(_ value: Data) {
        appendUInt32(UInt32(value.count))
        append(value)
    }
}
