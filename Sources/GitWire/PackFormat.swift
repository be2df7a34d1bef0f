import Foundation

/// git's delta format: the sizes, then copy-from-base and insert-literal instructions. The delta
/// keeps the common prefix and suffix of the two versions and inserts what lies between.
package enum Delta {
    package static func make(from base: Data, to target: Data) -> Data {
        base.withUnsafeBytes { b in
            target.withUnsafeBytes { t in
                let limit = min(b.count, t.count)
                var prefix = 0
                // Compare 8 bytes at a time, then bytewise.
                while prefix + 8 <= limit,
                      b.loadUnaligned(fromByteOffset: prefix, as: UInt64.self) == t.loadUnaligned(fromByteOffset: prefix, as: UInt64.self) {
                    prefix += 8
                }
                while prefix < limit, b[prefix] == t[prefix] { prefix += 1 }
                var suffix = 0
                while suffix < limit - prefix, b[b.count - 1 - suffix] == t[t.count - 1 - suffix] { suffix += 1 }
                var delta = Data()
                delta.reserveCapacity(64 + t.count - prefix - suffix)
                appendSize(&delta, b.count)
                appendSize(&delta, t.count)
                appendCopy(&delta, offset: 0, length: prefix)
                var i = prefix
                let end = t.count - suffix
                while i < end {
                    let n = min(127, end - i)
                    delta.append(UInt8(n))
                    delta.append(contentsOf: UnsafeRawBufferPointer(rebasing: t[i..<(i + n)]))
                    i += n
                }
                appendCopy(&delta, offset: b.count - suffix, length: suffix)
                return delta
            }
        }
    }

    private static func appendSize(_ data: inout Data, _ value: Int) {
        var v = value
        repeat {
            var byte = UInt8(v & 0x7f)
            v >>= 7
            if v > 0 { byte |= 0x80 }
            data.append(byte)
        } while v > 0
    }

    /// Copy instructions of at most 64 KiB each (the size every git version accepts).
    private static func appendCopy(_ data: inout Data, offset: Int, length: Int) {
        var offset = offset
        var remaining = length
        while remaining > 0 {
            let size = min(remaining, 0x10000)
            var op: UInt8 = 0x80
            var args: [UInt8] = []
            for k in 0..<4 {
                let byte = UInt8((offset >> (8 * k)) & 0xff)
                if byte != 0 { op |= 1 << k; args.append(byte) }
            }
            if size != 0x10000 {
                for k in 0..<3 {
                    let byte = UInt8((size >> (8 * k)) & 0xff)
                    if byte != 0 { op |= 1 << (4 + k); args.append(byte) }
                }
            }
            data.append(op)
            data.append(contentsOf: args)
            offset += size
            remaining -= size
        }
    }
}

/// Pack entries and stored (uncompressed) zlib streams.
package enum PackFormat {
    package static let refDelta: UInt8 = 7

    package static func appendUInt32(to data: inout Data, _ value: UInt32) {
        data.append(contentsOf: [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)])
    }

    package static func appendObject(to data: inout Data, type: UInt8, data object: Data) {
        appendHeader(to: &data, type: type, size: object.count)
        appendZlibStored(to: &data, object)
    }

    package static func appendDelta(to data: inout Data, base: ObjectID, delta: Data) {
        appendHeader(to: &data, type: refDelta, size: delta.count)
        data.append(contentsOf: base.bytes)
        appendZlibStored(to: &data, delta)
    }

    private static func appendHeader(to data: inout Data, type: UInt8, size: Int) {
        var v = size >> 4
        var byte = (type << 4) | UInt8(size & 0x0f)
        while v > 0 {
            data.append(byte | 0x80)
            byte = UInt8(v & 0x7f)
            v >>= 7
        }
        data.append(byte)
    }

    /// A zlib stream of stored deflate blocks (RFC 1950/1951), with its Adler-32.
    package static func appendZlibStored(to data: inout Data, _ payload: Data) {
        payload.withUnsafeBytes { bytes in
            let start = data.count
            data.count += zlibStoredSize(bytes.count)
            data.withUnsafeMutableBytes { out in
                _ = writeZlibStored([bytes], into: UnsafeMutableRawBufferPointer(rebasing: out[start...]))
            }
        }
    }

    /// The size of a zlib stream of stored blocks holding `count` bytes.
    package static func zlibStoredSize(_ count: Int) -> Int {
        2 + max(1, (count + 65_534) / 65_535) * 5 + count + 4
    }

    /// Writes the zlib stream of stored blocks whose payload is `parts`, one after the other,
    /// at the start of `out` (at least `zlibStoredSize` bytes); returns the bytes written.
    package static func writeZlibStored(_ parts: [UnsafeRawBufferPointer], into out: UnsafeMutableRawBufferPointer) -> Int {
        let payload = parts.reduce(0) { $0 + $1.count }
        let blocks = max(1, (payload + 65_534) / 65_535)
        out[0] = 0x78
        out[1] = 0x01
        var at = 2
        var part = 0
        var offset = 0  // in parts[part]
        var adler: UInt32 = 1
        var left = payload
        for block in 0..<blocks {
            let n = min(65_535, left)
            out[at] = block == blocks - 1 ? 1 : 0
            out[at + 1] = UInt8(n & 0xff)
            out[at + 2] = UInt8(n >> 8)
            out[at + 3] = UInt8(~n & 0xff)
            out[at + 4] = UInt8((~n >> 8) & 0xff)
            at += 5
            var blockLeft = n
            while blockLeft > 0 {
                let source = parts[part]
                let k = min(blockLeft, source.count - offset)
                if k == 0 { part += 1; offset = 0; continue }
                (out.baseAddress! + at).copyMemory(from: source.baseAddress! + offset, byteCount: k)
                adler = Adler32.update(adler, UnsafeRawBufferPointer(start: source.baseAddress! + offset, count: k))
                at += k
                offset += k
                blockLeft -= k
            }
            left -= n
        }
        for shift in [24, 16, 8, 0] {
            out[at] = UInt8((adler >> UInt32(shift)) & 0xff)
            at += 1
        }
        return at
    }

    package static func adler32(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { Adler32.update(1, $0) }
    }
}

/// Adler-32 (RFC 1950), the checksum that ends a zlib stream.
enum Adler32 {
    private static let modulus: UInt32 = 65_521
    /// The most bytes that can be summed before `b` could overflow 32 bits.
    private static let run = 5_552

    static func update(_ adler: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var a = adler & 0xffff, b = adler >> 16
        guard var p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return adler }
        var left = bytes.count
        while left > 0 {
            var n = min(left, run)
            left -= n
            while n >= 8 {
                a &+= UInt32(p[0]); b &+= a
                a &+= UInt32(p[1]); b &+= a
                a &+= UInt32(p[2]); b &+= a
                a &+= UInt32(p[3]); b &+= a
                a &+= UInt32(p[4]); b &+= a
                a &+= UInt32(p[5]); b &+= a
                a &+= UInt32(p[6]); b &+= a
                a &+= UInt32(p[7]); b &+= a
                p += 8
                n -= 8
            }
            while n > 0 { a &+= UInt32(p[0]); b &+= a; p += 1; n -= 1 }
            a %= modulus
            b %= modulus
        }
        return (b << 16) | a
    }
}
