import CLibGit2
import Foundation

/// A thin pack of exactly the objects a line of commits created, written directly.
///
/// Each commit's tree is compared with its parent's tree by a merge walk over the raw (sorted)
/// tree entries: an entry with the same name and id as in the parent is skipped without being
/// read. Changed trees are sent as deltas against the same path in the parent commit (a tree
/// that gained or changed one entry differs from its parent version by a few bytes, however
/// many entries it holds): the base is in the pack or, for the first commit, on the remote,
/// which receive-pack completes (`index-pack --fix-thin`, or `unpack-objects`). Objects are
/// stored in uncompressed deflate blocks: no compression work on either side, and the pushes
/// this is for are a few kilobytes per commit.
struct ThinPackWriter {
    let repository: Repository
    let operation = "push"

    /// The pack of `base..tip`, or nil when that history is not a single line of at most
    /// `maxCommits` one-parent commits descending from `base`.
    func pack(tip: ObjectID, base: ObjectID, maxCommits: Int = 10_000) throws -> NewObjectsPack? {
        guard let line = try repository.commitLine(tip: tip, base: base, maxCommits: maxCommits, operation: operation)
        else { return nil }

        var odb: OpaquePointer?
        try gitCall(operation) { git_repository_odb(&odb, repository.pointer) }
        defer { git_odb_free(odb) }
        var state = State(repository: repository, odb: odb!, operation: operation)
        // Oldest first: a commit's new trees are the bases of the next commit's trees.
        for entry in line.reversed() {
            state.beginCommit()
            try state.addFull(entry.commit)
            try state.addTree(entry.tree, parent: entry.parentTree)
        }
        return NewObjectsPack(data: state.finish(), objectCount: state.count, commitCount: line.count)
    }

    private struct State {
        let repository: Repository
        let odb: OpaquePointer
        let operation: String
        var body = Data()
        var count = 0
        var sent: Set<OID> = []
        /// Raw trees of the previous commit (the parent's versions) and of the current one.
        var previousTrees: [OID: Data] = [:]
        var currentTrees: [OID: Data] = [:]

        init(repository: Repository, odb: OpaquePointer, operation: String) {
            self.repository = repository
            self.odb = odb
            self.operation = operation
        }

        mutating func beginCommit() {
            previousTrees = currentTrees
            currentTrees = [:]
        }

        func read(_ id: git_oid) throws -> (type: git_object_t, data: Data) {
            var object: OpaquePointer?
            var oid = id
            try gitCall(operation) { git_odb_read(&object, odb, &oid) }
            defer { git_odb_object_free(object) }
            let size = git_odb_object_size(object)
            let data = git_odb_object_data(object).map { Data(bytes: $0, count: size) } ?? Data()
            return (git_odb_object_type(object), data)
        }

        mutating func tree(_ id: git_oid) throws -> Data {
            let key = OID(id)
            if let data = currentTrees[key] ?? previousTrees[key] {
                currentTrees[key] = data
                return data
            }
            // The committer's memo holds the trees its commits just wrote.
            let data = try repository.rawTree(key, odb: odb, operation: operation)
            currentTrees[key] = data
            return data
        }

        mutating func addFull(_ id: git_oid) throws {
            guard sent.insert(OID(id)).inserted else { return }
            let (type, data) = try read(id)
            PackFormat.appendObject(to: &body, type: UInt8(type.rawValue), data: data)
            count += 1
        }

        /// Adds `id` (a tree) and everything below it that `parent` (the same path in the parent
        /// commit, if it was a tree there) does not hold with the same id.
        mutating func addTree(_ id: git_oid, parent: git_oid?) throws {
            let key = OID(id)
            if let parent, OID(parent) == key { return }
            // A tree this process edited from `parent`: its delta and changed entries are known.
            if let parent, let edit = repository.treeEdits[key], edit.base == OID(parent) {
                guard sent.insert(key).inserted else { return }
                PackFormat.appendDelta(to: &body, base: edit.base, delta: edit.delta)
                count += 1
                for change in edit.changes where change.id != change.before {
                    if change.isTree {
                        try addTree(change.id.oid, parent: change.beforeTree?.oid)
                    } else {
                        try addFull(change.id.oid)
                    }
                }
                return
            }
            let raw = try tree(id)
            let parentRaw = try parent.map { try tree($0) }
            // A tree already in the pack brought everything below it that was new.
            guard sent.insert(key).inserted else { return }
            if let parent, let parentRaw, raw.count >= 512 {
                PackFormat.appendDelta(to: &body, base: OID(parent), delta: Delta.make(from: parentRaw, to: raw))
            } else {
                PackFormat.appendObject(to: &body, type: UInt8(GIT_OBJECT_TREE.rawValue), data: raw)
            }
            count += 1
            let entries = try TreeEntries.parse(raw, operation: operation)
            let old = try parentRaw.map { try TreeEntries.parse($0, operation: operation) } ?? []
            var j = 0
            for entry in entries {
                var match: TreeEntries.Entry?
                while j < old.count {
                    let order = TreeEntries.compare(old[j], entry, in: parentRaw!, raw)
                    if order < 0 { j += 1; continue }
                    if order == 0 { match = old[j]; j += 1 }
                    break
                }
                if let match, match.id == entry.id { continue }
                switch entry.kind {
                case .tree:
                    try addTree(entry.id.oid, parent: match.flatMap { $0.kind == .tree ? $0.id.oid : nil })
                case .blob:
                    try addFull(entry.id.oid)
                case .gitlink:
                    continue  // a commit of another repository: nothing to send
                }
            }
        }

        func finish() -> Data {
            var pack = Data("PACK".utf8)
            PackFormat.appendUInt32(to: &pack, 2)
            PackFormat.appendUInt32(to: &pack, UInt32(count))
            pack.append(body)
            pack.append(contentsOf: SHA1.hash(pack))
            return pack
        }
    }
}

extension Repository {
    /// The commits of `base..tip`, newest first, each with its tree and its parent's tree; nil
    /// when that history is not a single line of at most `maxCommits` one-parent commits
    /// descending from `base`, or is empty. What both pack writers send.
    func commitLine(tip: ObjectID, base: ObjectID, maxCommits: Int, operation: String) throws
        -> [(commit: git_oid, tree: git_oid, parentTree: git_oid)]? {
        var line: [(commit: git_oid, tree: git_oid, parentTree: git_oid)] = []
        var current = tip
        while current != base {
            guard line.count < maxCommits else { return nil }
            let commit = try lookupCommit(current, operation: operation)
            defer { git_commit_free(commit) }
            guard git_commit_parentcount(commit) == 1, let parentID = git_commit_parent_id(commit, 0) else { return nil }
            var parent: OpaquePointer?
            try gitCall(operation) { git_commit_parent(&parent, commit, 0) }
            defer { git_commit_free(parent) }
            line.append((git_commit_id(commit).pointee, git_commit_tree_id(commit).pointee, git_commit_tree_id(parent).pointee))
            current = ObjectID(parentID)
        }
        return line.isEmpty ? nil : line
    }
}

/// A 20-byte object id usable as a dictionary key.
struct OID: Hashable {
    var a: UInt64, b: UInt64, c: UInt32

    init(_ oid: git_oid) {
        var a: UInt64 = 0, b: UInt64 = 0, c: UInt32 = 0
        withUnsafeBytes(of: oid.id) { raw in
            a = raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
            b = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            c = raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self)
        }
        self.a = a; self.b = b; self.c = c
    }

    init(bytes: UnsafeRawBufferPointer) {
        a = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        b = bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        c = bytes.loadUnaligned(fromByteOffset: 16, as: UInt32.self)
    }

    var oid: git_oid {
        var oid = git_oid()
        withUnsafeMutableBytes(of: &oid.id) { raw in
            raw.storeBytes(of: a, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: b, toByteOffset: 8, as: UInt64.self)
            raw.storeBytes(of: c, toByteOffset: 16, as: UInt32.self)
        }
        return oid
    }

    var bytes: [UInt8] {
        withUnsafeBytes(of: oid.id) { Array($0) }
    }
}

/// Raw tree objects: `<octal mode> <name>\0<20-byte id>`, sorted in git's order.
enum TreeEntries {
    enum Kind { case tree, blob, gitlink }

    struct Entry {
        var nameStart: Int
        var nameEnd: Int
        var kind: Kind
        var id: OID
    }

    static func parse(_ raw: Data, operation: String) throws -> [Entry] {
        try raw.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> [Entry] in
            var entries: [Entry] = []
            entries.reserveCapacity(raw.count / 40)
            var i = 0
            let n = bytes.count
            while i < n {
                var mode = 0
                while i < n, bytes[i] != 0x20 {
                    mode = mode * 8 + Int(bytes[i] &- 0x30)
                    i += 1
                }
                let nameStart = i + 1
                guard let nul = memchr(bytes.baseAddress! + nameStart, 0, max(0, n - nameStart)) else { break }
                let nameEnd = bytes.baseAddress!.distance(to: UnsafeRawPointer(nul))
                guard nameEnd + 21 <= n else { break }
                let id = OID(bytes: UnsafeRawBufferPointer(rebasing: bytes[(nameEnd + 1)..<(nameEnd + 21)]))
                let kind: Kind = mode == 0o40000 ? .tree : (mode == 0o160000 ? .gitlink : .blob)
                entries.append(Entry(nameStart: nameStart, nameEnd: nameEnd, kind: kind, id: id))
                i = nameEnd + 21
            }
            guard i == n else {
                throw GitError(kind: .other, message: "malformed tree object", operation: operation)
            }
            return entries
        }
    }

    /// The entry called `name` among `entries` (parsed from `raw`).
    static func find(_ name: String, in raw: Data, entries: [Entry]) -> (id: OID, kind: Kind)? {
        index(of: Array(name.utf8), in: raw, entries: entries).map { (entries[$0].id, entries[$0].kind) }
    }

    /// The index of the entry called `name` among `entries` (parsed from `raw`), by binary search
    /// in git's order, once as a tree's name and once as a file's (the order depends on the kind).
    static func index(of name: [UInt8], in raw: Data, entries: [Entry]) -> Int? {
        raw.withUnsafeBytes { bytes in
            name.withUnsafeBytes { wanted -> Int? in
                for asTree in [true, false] {
                    var low = 0
                    var high = entries.count
                    while low < high {
                        let middle = (low + high) / 2
                        let entry = entries[middle]
                        let candidate = UnsafeRawBufferPointer(rebasing: bytes[entry.nameStart..<entry.nameEnd])
                        let order = TreeEditor.order(wanted, asTree, candidate, entry.kind == .tree)
                        if order == 0 { return middle }
                        if order < 0 { high = middle } else { low = middle + 1 }
                    }
                }
                return nil
            }
        }
    }

    /// git's tree order of two entries (`TreeEditor.order`).
    static func compare(_ x: Entry, _ y: Entry, in xRaw: Data, _ yRaw: Data) -> Int {
        xRaw.withUnsafeBytes { xb in
            yRaw.withUnsafeBytes { yb in
                TreeEditor.order(UnsafeRawBufferPointer(rebasing: xb[x.nameStart..<x.nameEnd]), x.kind == .tree,
                                 UnsafeRawBufferPointer(rebasing: yb[y.nameStart..<y.nameEnd]), y.kind == .tree)
            }
        }
    }
}

/// git's delta format: the sizes, then copy-from-base and insert-literal instructions. The delta
/// keeps the common prefix and suffix of the two versions and inserts what lies between.
enum Delta {
    static func make(from base: Data, to target: Data) -> Data {
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
enum PackFormat {
    static let refDelta: UInt8 = 7

    static func appendUInt32(to data: inout Data, _ value: UInt32) {
        data.append(contentsOf: [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)])
    }

    static func appendObject(to data: inout Data, type: UInt8, data object: Data) {
        appendHeader(to: &data, type: type, size: object.count)
        appendZlibStored(to: &data, object)
    }

    static func appendDelta(to data: inout Data, base: OID, delta: Data) {
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
    static func appendZlibStored(to data: inout Data, _ payload: Data) {
        payload.withUnsafeBytes { bytes in
            let start = data.count
            data.count += zlibStoredSize(bytes.count)
            data.withUnsafeMutableBytes { out in
                _ = writeZlibStored([bytes], into: UnsafeMutableRawBufferPointer(rebasing: out[start...]))
            }
        }
    }

    /// The size of a zlib stream of stored blocks holding `count` bytes.
    static func zlibStoredSize(_ count: Int) -> Int {
        2 + max(1, (count + 65_534) / 65_535) * 5 + count + 4
    }

    /// Writes the zlib stream of stored blocks whose payload is `parts`, one after the other,
    /// at the start of `out` (at least `zlibStoredSize` bytes); returns the bytes written.
    static func writeZlibStored(_ parts: [UnsafeRawBufferPointer], into out: UnsafeMutableRawBufferPointer) -> Int {
        let payload = parts.reduce(0) { $0 + $1.count }
        let blocks = max(1, (payload + 65_534) / 65_535)
        out[0] = 0x78
        out[1] = 0x01
        var at = 2
        var part = 0
        var offset = 0  // in parts[part]
        var adler = manifestor_adler32(1, nil, 0)
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
                adler = manifestor_adler32(adler, source.baseAddress! + offset, k)
                at += k
                offset += k
                blockLeft -= k
            }
            left -= n
        }
        for shift in [24, 16, 8, 0] {
            out[at] = UInt8((adler >> UInt(shift)) & 0xff)
            at += 1
        }
        return at
    }

    static func adler32(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { UInt32(manifestor_adler32(1, $0.baseAddress, $0.count)) }
    }
}

/// SHA-1 (FIPS 180-4), for the pack's trailing checksum.
enum SHA1 {
    static func hash(_ data: Data) -> [UInt8] {
        var state: [UInt32] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
        let length = data.count
        state.withUnsafeMutableBufferPointer { h in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
                data.withUnsafeBytes { bytes in
                    var offset = 0
                    while offset + 64 <= length {
                        compress(h.baseAddress!, w.baseAddress!, bytes.baseAddress! + offset)
                        offset += 64
                    }
                    var tail = [UInt8](bytes[offset..<length])
                    tail.append(0x80)
                    while tail.count % 64 != 56 { tail.append(0) }
                    let bits = UInt64(length) &* 8
                    for k in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(k)))) }
                    tail.withUnsafeBytes { t in
                        var o = 0
                        while o < t.count {
                            compress(h.baseAddress!, w.baseAddress!, t.baseAddress! + o)
                            o += 64
                        }
                    }
                }
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(20)
        for v in state {
            out.append(contentsOf: [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)])
        }
        return out
    }

    @inline(__always)
    private static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }

    private static func compress(_ h: UnsafeMutablePointer<UInt32>, _ w: UnsafeMutablePointer<UInt32>, _ p: UnsafeRawPointer) {
        for t in 0..<16 { w[t] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: t &* 4, as: UInt32.self)) }
        for t in 16..<80 { w[t] = rotl(w[t &- 3] ^ w[t &- 8] ^ w[t &- 14] ^ w[t &- 16], 1) }
        var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4]
        for t in 0..<20 {
            let temp = rotl(a, 5) &+ ((b & c) | (~b & d)) &+ e &+ 0x5A827999 &+ w[t]
            e = d; d = c; c = rotl(b, 30); b = a; a = temp
        }
        for t in 20..<40 {
            let temp = rotl(a, 5) &+ (b ^ c ^ d) &+ e &+ 0x6ED9EBA1 &+ w[t]
            e = d; d = c; c = rotl(b, 30); b = a; a = temp
        }
        for t in 40..<60 {
            let temp = rotl(a, 5) &+ ((b & c) | (b & d) | (c & d)) &+ e &+ 0x8F1BBCDC &+ w[t]
            e = d; d = c; c = rotl(b, 30); b = a; a = temp
        }
        for t in 60..<80 {
            let temp = rotl(a, 5) &+ (b ^ c ^ d) &+ e &+ 0xCA62C1D6 &+ w[t]
            e = d; d = c; c = rotl(b, 30); b = a; a = temp
        }
        h[0] = h[0] &+ a; h[1] = h[1] &+ b; h[2] = h[2] &+ c; h[3] = h[3] &+ d; h[4] = h[4] &+ e
    }
}
