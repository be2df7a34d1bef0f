import Foundation

/// Raw tree objects: `<octal mode> <name>\0<20-byte id>`, sorted in git's order.
package enum TreeEntries {
    package enum Kind: Sendable { case tree, blob, gitlink }

    package struct Entry: Sendable {
        package var nameStart: Int
        package var nameEnd: Int
        package var kind: Kind
        package var id: ObjectID
    }

    package static func parse(_ raw: Data, operation: String) throws -> [Entry] {
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
                let id = ObjectID(bytes: UnsafeRawBufferPointer(rebasing: bytes[(nameEnd + 1)..<(nameEnd + 21)]))
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
    package static func find(_ name: String, in raw: Data, entries: [Entry]) -> (id: ObjectID, kind: Kind)? {
        index(of: Array(name.utf8), in: raw, entries: entries).map { (entries[$0].id, entries[$0].kind) }
    }

    /// The index of the entry called `name` among `entries` (parsed from `raw`), by binary search
    /// in git's order, once as a tree's name and once as a file's (the order depends on the kind).
    package static func index(of name: [UInt8], in raw: Data, entries: [Entry]) -> Int? {
        raw.withUnsafeBytes { bytes in
            name.withUnsafeBytes { wanted -> Int? in
                for asTree in [true, false] {
                    var low = 0
                    var high = entries.count
                    while low < high {
                        let middle = (low + high) / 2
                        let entry = entries[middle]
                        let candidate = UnsafeRawBufferPointer(rebasing: bytes[entry.nameStart..<entry.nameEnd])
                        let order = order(wanted, asTree, candidate, entry.kind == .tree)
                        if order == 0 { return middle }
                        if order < 0 { high = middle } else { low = middle + 1 }
                    }
                }
                return nil
            }
        }
    }

    /// git's tree order of two entries (`order`).
    package static func compare(_ x: Entry, _ y: Entry, in xRaw: Data, _ yRaw: Data) -> Int {
        xRaw.withUnsafeBytes { xb in
            yRaw.withUnsafeBytes { yb in
                order(UnsafeRawBufferPointer(rebasing: xb[x.nameStart..<x.nameEnd]), x.kind == .tree,
                                 UnsafeRawBufferPointer(rebasing: yb[y.nameStart..<y.nameEnd]), y.kind == .tree)
            }
        }
    }

    /// git's tree order (`base_name_compare`): bytewise, a tree's name as if followed by "/".
    package static func order(_ x: UnsafeRawBufferPointer, _ xIsTree: Bool, _ y: UnsafeRawBufferPointer, _ yIsTree: Bool) -> Int {
        let common = min(x.count, y.count)
        if common > 0 {
            let c = memcmp(x.baseAddress!, y.baseAddress!, common)
            if c != 0 { return Int(c) }
        }
        let xc: UInt8 = x.count > common ? x[common] : (xIsTree ? 0x2f : 0)
        let yc: UInt8 = y.count > common ? y[common] : (yIsTree ? 0x2f : 0)
        return Int(xc) - Int(yc)
    }
}

/// How a tree written by `TreeEditor` differs from the tree it was edited from: a delta between
/// the two raw objects and the entries that were written (a removed entry needs nothing).
package struct TreeEdit: Sendable {
    package struct Change: Sendable {
        package var id: ObjectID
        package var isTree: Bool
        /// The entry's id in `base` (nil: it is new), and that id when it was a tree.
        package var before: ObjectID?
        package var beforeTree: ObjectID?

        package init(id: ObjectID, isTree: Bool, before: ObjectID?, beforeTree: ObjectID?) {
            self.id = id; self.isTree = isTree; self.before = before; self.beforeTree = beforeTree
        }
    }

    package var base: ObjectID
    package var delta: Data
    package var changes: [Change]

    package init(base: ObjectID, delta: Data, changes: [Change]) {
        self.base = base; self.delta = delta; self.changes = changes
    }
}
