import Foundation

package enum PacketLine {
    package static let flush = Data("0000".utf8)

    package static func encode(_ text: String) -> Data {
        let payload = Data(text.utf8)
        var line = Data(String(format: "%04x", payload.count + 4).utf8)
        line.append(payload)
        return line
    }

    /// The packets of `data`: a payload, or nil for a flush (`0000`) or delimiter packet.
    package static func decode(_ data: Data) throws -> [Data?] {
        var packets: [Data?] = []
        var index = data.startIndex
        while index < data.endIndex {
            guard data.endIndex - index >= 4, let length = Int(String(decoding: data[index..<index + 4], as: UTF8.self), radix: 16)
            else { throw PacketLineError() }
            if length < 4 {
                packets.append(nil)
                index += 4
                continue
            }
            guard data.endIndex - index >= length else { throw PacketLineError() }
            packets.append(Data(data[index + 4..<index + length]))
            index += length
        }
        return packets
    }
}

package struct PacketLineError: Error {}

/// The answer to `GET info/refs?service=git-receive-pack`.
package struct Advertisement {
    package var references: [String: ObjectID] = [:]
    package var capabilities: Set<String> = []

    package init(parsing data: Data) throws {
        var first = true
        for packet in try PacketLine.decode(data) {
            guard var line = packet.map({ String(decoding: $0, as: UTF8.self) }) else { continue }
            if line.hasSuffix("\n") { line.removeLast() }
            if line.hasPrefix("# service=") || line.hasPrefix("version ") { continue }
            var refPart = Substring(line)
            if let nul = line.firstIndex(of: "\0") {
                refPart = line[..<nul]
                if first {
                    capabilities = Set(line[line.index(after: nul)...].split(separator: " ").map(String.init))
                }
            }
            first = false
            let fields = refPart.split(separator: " ", maxSplits: 1)
            guard fields.count == 2, let id = ObjectID(hex: String(fields[0])) else { throw PacketLineError() }
            let name = String(fields[1])
            if name != "capabilities^{}" { references[name] = id }
        }
    }
}

/// The answer to the POST: `unpack ok|<error>`, then `ok <ref>` or `ng <ref> <reason>` per ref.
package struct ReportStatus {
    var unpack: String?
    var results: [String: String?] = [:]  // ref -> nil (ok) or the reason it was refused

    package init(parsing data: Data) throws {
        for packet in try PacketLine.decode(data) {
            guard var line = packet.map({ String(decoding: $0, as: UTF8.self) }) else { continue }
            if line.hasSuffix("\n") { line.removeLast() }
            if line.hasPrefix("unpack ") {
                unpack = String(line.dropFirst("unpack ".count))
            } else if line.hasPrefix("ok ") {
                results[String(line.dropFirst(3))] = .some(nil)
            } else if line.hasPrefix("ng ") {
                let rest = line.dropFirst(3)
                let space = rest.firstIndex(of: " ") ?? rest.endIndex
                let reason = space < rest.endIndex ? String(rest[rest.index(after: space)...]) : "refused"
                results[String(rest[..<space])] = .some(reason)
            }
        }
    }

    package func check(reference: String, operation: String, secrets: [String]) throws {
        guard let unpack else {
            throw GitError(kind: .other, message: "the remote sent no report for the push", operation: operation)
        }
        guard unpack == "ok" else {
            throw GitError(kind: .other, message: redactingCredentials(in: "the remote could not unpack the push: \(unpack)", secrets: secrets),
                           operation: operation)
        }
        switch results[reference] {
        case .some(.none):
            return
        case .some(.some(let reason)):
            throw GitError(kind: .refused, message: redactingCredentials(in: "\(reference): \(reason)", secrets: secrets),
                           operation: operation)
        case .none:
            throw GitError(kind: .other, message: "the remote did not report on \(reference)", operation: operation)
        }
    }
}
