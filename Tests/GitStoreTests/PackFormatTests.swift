import Foundation
import Testing
@testable import GitStore
@testable import GitWire

/// The wire formats of the smart-HTTP push: pkt-lines, the advertisement, report-status, the
/// pack's SHA-1 and zlib framing, and the prefix/suffix deltas.
@Suite struct PackFormatTests {
    @Test func sha1MatchesKnownVectors() {
        func hex(_ text: String) -> String { SHA1.hash(Data(text.utf8)).map { String(format: "%02x", $0) }.joined() }
        #expect(hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(hex(String(repeating: "a", count: 1_000_000)) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test func adler32AndStoredZlibFraming() {
        #expect(PackFormat.adler32(Data("Wikipedia".utf8)) == 0x11E6_0398)
        var stream = Data()
        PackFormat.appendZlibStored(to: &stream, Data(count: 70_000))
        // Header, two stored blocks (65,535 + 4,465 bytes, each with a 5-byte header), Adler-32.
        #expect(stream.count == 2 + 5 + 65_535 + 5 + 4_465 + 4)
        #expect(stream[0] == 0x78 && stream[1] == 0x01)
        var empty = Data()
        PackFormat.appendZlibStored(to: &empty, Data())
        #expect(Array(empty) == [0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01])
    }

    /// Applies a git delta (the receiver's side), to check `Delta.make` round-trips.
    func apply(_ delta: Data, to base: Data) throws -> Data {
        let d = [UInt8](delta)
        var i = 0
        func size() -> Int {
            var value = 0
            var shift = 0
            while true {
                let byte = d[i]; i += 1
                value |= Int(byte & 0x7f) << shift
                shift += 7
                if byte & 0x80 == 0 { return value }
            }
        }
        #expect(size() == base.count)
        let targetSize = size()
        var out = Data()
        while i < d.count {
            let op = d[i]; i += 1
            if op & 0x80 != 0 {
                var offset = 0
                var length = 0
                for k in 0..<4 where op & (1 << k) != 0 { offset |= Int(d[i]) << (8 * k); i += 1 }
                for k in 0..<3 where op & (1 << (4 + k)) != 0 { length |= Int(d[i]) << (8 * k); i += 1 }
                if length == 0 { length = 0x10000 }
                out.append(base[base.startIndex + offset..<base.startIndex + offset + length])
            } else {
                #expect(op != 0)
                out.append(contentsOf: d[i..<i + Int(op)])
                i += Int(op)
            }
        }
        #expect(out.count == targetSize)
        return out
    }

    @Test func deltasRoundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        let base = Data((0..<200_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        var inserted = base
        inserted.insert(contentsOf: Data(repeating: 7, count: 300), at: 150_000)
        var replaced = base
        replaced.replaceSubrange(10..<20, with: Data("changed".utf8))
        let cases: [Data] = [base, inserted, replaced, Data(base.prefix(1000)), Data(), base + Data("tail".utf8), Data("x".utf8) + base]
        for target in cases {
            let delta = Delta.make(from: base, to: target)
            #expect(try apply(delta, to: base) == target)
        }
        // A one-entry change of a big tree is a small delta.
        #expect(Delta.make(from: base, to: inserted).count < 400)
    }

    @Test func advertisementAndReportStatus() throws {
        let tip = String(repeating: "a", count: 40)
        var advert = PacketLine.encode("# service=git-receive-pack\n")
        advert.append(PacketLine.flush)
        advert.append(PacketLine.encode("\(tip) refs/heads/main\0report-status delete-refs side-band-64k quiet ofs-delta agent=git/2.39\n"))
        advert.append(PacketLine.encode("\(String(repeating: "b", count: 40)) refs/heads/other\n"))
        advert.append(PacketLine.flush)
        let parsed = try Advertisement(parsing: advert)
        #expect(parsed.references["refs/heads/main"]?.hex == tip)
        #expect(parsed.references.count == 2)
        #expect(parsed.capabilities.contains("report-status"))

        var empty = PacketLine.encode("# service=git-receive-pack\n")
        empty.append(PacketLine.flush)
        empty.append(PacketLine.encode("\(String(repeating: "0", count: 40)) capabilities^{}\0report-status\n"))
        empty.append(PacketLine.flush)
        #expect(try Advertisement(parsing: empty).references.isEmpty)

        func report(_ lines: [String]) throws -> ReportStatus {
            var data = Data()
            lines.forEach { data.append(PacketLine.encode($0 + "\n")) }
            data.append(PacketLine.flush)
            return try ReportStatus(parsing: data)
        }
        try report(["unpack ok", "ok refs/heads/main"]).check(reference: "refs/heads/main", operation: "push", secrets: [])
        let refused = #expect(throws: GitError.self) {
            try report(["unpack ok", "ng refs/heads/main fetch first"]).check(reference: "refs/heads/main", operation: "push", secrets: [])
        }
        #expect(refused?.kind == .refused)
        #expect(refused?.message.contains("fetch first") == true)
        let unpack = #expect(throws: GitError.self) {
            try report(["unpack index-pack abnormal exit", "ng refs/heads/main unpacker error"])
                .check(reference: "refs/heads/main", operation: "push", secrets: [])
        }
        #expect(unpack?.kind == .other)
        #expect(throws: PacketLineError.self) { try PacketLine.decode(Data("00zz".utf8)) }
    }
}
