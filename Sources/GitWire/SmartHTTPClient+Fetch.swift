import Foundation
import HTTPTransport

/// The download half of the smart HTTP protocol: one `POST <url>/git-upload-pack` asking for one
/// commit, naming the commits the cache already has, answered by an acknowledgement and the pack
/// of what is missing on side-band 1 (progress on 2, a fatal error on 3). No `thin-pack`: the
/// pack stands alone, so whoever indexes it needs nothing else.
extension SmartHTTPClient {
    /// Streams the pack that brings `want` and everything it reaches, less what `haves` reach,
    /// to `sink` in pieces as it arrives.
    package func fetchPack(want: ObjectID, haves: [ObjectID], sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var body = Data()
        body.append(PacketLine.encode("want \(want.hex) side-band-64k ofs-delta no-progress agent=manifestor\n"))
        body.append(PacketLine.flush)
        for have in haves { body.append(PacketLine.encode("have \(have.hex)\n")) }
        body.append(PacketLine.encode("done\n"))
        var reader = SideBandReader(operation: operation, secrets: remote.secrets)
        let (_, type) = try withoutActuallyEscaping(sink) { sink in
            try request("POST", "git-upload-pack", body: body, contentType: "application/x-git-upload-pack-request",
                        accept: "application/x-git-upload-pack-result") { chunk in
                try reader.consume(chunk, sink: sink)
                return true
            }
        }
        guard type == "application/x-git-upload-pack-result" else {
            throw GitError(kind: .other, message: "unexpected answer (\(type ?? "no content type")) to a fetch from \(remote.redactedURL)",
                           operation: operation)
        }
        try reader.finish()
    }
}

/// Splits an upload-pack answer as it arrives: the `ACK`/`NAK` lines, then pkt-lines of
/// side-band data until a flush.
struct SideBandReader {
    let operation: String
    let secrets: [String]
    private var buffer = Data()
    private var sawPack = false
    private var ended = false

    init(operation: String, secrets: [String]) { self.operation = operation; self.secrets = secrets }

    mutating func consume(_ chunk: UnsafeRawBufferPointer, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        buffer.append(contentsOf: chunk)
        var offset = 0
        defer { if offset > 0 { buffer.removeSubrange(buffer.startIndex..<(buffer.startIndex + offset)) } }
        while buffer.count - offset >= 4 {
            let start = buffer.startIndex + offset
            guard let length = Int(String(decoding: buffer[start..<(start + 4)], as: UTF8.self), radix: 16) else {
                throw GitError(kind: .other, message: "malformed pkt-line in the fetch answer", operation: operation)
            }
            if length == 0 {
                offset += 4
                if sawPack { ended = true }
                continue
            }
            guard length >= 5 else { throw GitError(kind: .other, message: "malformed pkt-line in the fetch answer", operation: operation) }
            guard buffer.count - offset >= length else { return }
            let payload = buffer[(start + 4)..<(start + length)]
            offset += length
            if !sawPack, let line = String(data: payload, encoding: .utf8), line.hasPrefix("ACK ") || line.hasPrefix("NAK") {
                continue
            }
            sawPack = true
            switch payload.first {
            case 1:
                try payload.dropFirst().withUnsafeBytes { try sink($0) }
            case 2:
                continue
            case 3:
                let message = String(decoding: payload.dropFirst(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                throw GitError(kind: .other, message: redactingCredentials(in: "the remote failed the fetch: \(message)", secrets: secrets),
                               operation: operation)
            default:
                throw GitError(kind: .other, message: "unexpected side-band \(payload.first ?? 0) in the fetch answer", operation: operation)
            }
        }
    }

    /// Whoever indexes the pack checks that it is whole; this only checks that one came.
    func finish() throws {
        guard ended || sawPack else {
            throw GitError(kind: .unreachable, message: "the fetch answer ended before its pack did", operation: operation)
        }
    }
}
