import Foundation
import Testing
@testable import GitStore
@testable import GitWire

/// `makeCommit` edits trees itself (`TreeEditor`); these tests hold its trees to the ones git
/// builds from a work tree with the same files.
@Suite struct TreeEditorTests {
    /// Names chosen to exercise git's order, where a tree sorts as if its name ended in "/":
    /// "a-b" < "a.b" < "a" (tree) < "a0", but "a" (file) < "a-b".
    static let names = ["a", "a-b", "a.b", "a0", "b", "task-1", "task-10", "task-1x"]

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8])
    func randomEditsGiveTheTreeGitWouldWrite(seed: UInt64) throws {
        var random = SplitMix(seed: seed)
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("r.git"))
        let work = temp.sub("work")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        _ = try git("-C", work, "init", "-q")

        var parent: ObjectID?
        for step in 0..<25 {
            var changes: [TreeChange] = []
            for _ in 0..<Int(random.next() % 6 + 1) {
                let depth = Int(random.next() % 3) + 1
                let path = (0..<depth).map { _ in Self.names[Int(random.next() % UInt64(Self.names.count))] }
                    .joined(separator: "/")
                if random.next() % 4 == 0 {
                    changes.append(.delete(path: path))
                } else {
                    changes.append(.upsert(path: path, content: Data("\(seed)-\(step)-\(path)\n".utf8)))
                }
            }
            try Self.apply(changes, to: work)
            _ = try git("-C", work, "add", "-A")
            let expected = try git("-C", work, "write-tree").trimmingCharacters(in: .whitespacesAndNewlines)
            let commit = try repository.makeCommit(
                parent: parent, changes: changes,
                author: Signature(name: "T", email: "t@example.com", date: Date(timeIntervalSince1970: 0)),
                committer: Signature(name: "T", email: "t@example.com", date: Date(timeIntervalSince1970: 0)),
                message: "step \(step)")
            let tree = try commit.map { try repository.commit($0).tree.hex }
                ?? (try parent.map { try repository.commit($0).tree.hex } ?? Self.emptyTree)
            #expect(tree == expected, "seed \(seed) step \(step): \(changes)")
            if commit != nil { parent = commit }
        }
        // Every object is where git expects it, in git's order.
        if let parent {
            try repository.updateReference("refs/heads/main", to: parent, expected: nil, message: "test")
            _ = try git("--git-dir", temp.sub("r.git"), "fsck", "--strict", "--no-dangling")
        }
    }

    @Test func aWideTreeGainsAndLosesOneEntry() throws {
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("r.git"))
        let seed = (0..<2_000).map { TreeChange.upsert(path: "preview/task-\($0)/ns.yaml", content: Data("\($0)\n".utf8)) }
        let first = try repository.commit(parent: nil, seed + [up("README.md", "x\n")])
        let second = try repository.commit(parent: first, [up("preview/task-1000a/ns.yaml", "new\n")])
        let third = try repository.commit(parent: second, [.delete(path: "preview/task-999")])
        let names = try repository.entries(commit: third, path: "preview").map(\.name)
        #expect(names.count == 2_000)
        #expect(names.contains("task-1000a") && !names.contains("task-999"))
        try repository.updateReference("refs/heads/main", to: third, expected: nil, message: "test")
        _ = try git("--git-dir", temp.sub("r.git"), "fsck", "--strict", "--no-dangling")
        // Deleting the last file of the only directory leaves an empty root tree.
        let lone = try repository.commit(parent: nil, [up("only/one.yaml", "x\n")])
        let emptied = try repository.commit(parent: lone, [.delete(path: "only/one.yaml")])
        #expect(try repository.commit(emptied).tree.hex == Self.emptyTree)
    }

    /// Reads find every entry of a wide tree (binary search in git's order), whatever its kind.
    @Test func readsFindEveryEntryOfAWideTree() throws {
        let temp = try TemporaryDirectory()
        let path = temp.sub("r.git")
        let repository = try Repository.openOrCreateBare(at: path)
        var changes: [TreeChange] = []
        for i in 0..<700 {
            changes.append(up("wide/n\(i)", "file \(i)\n"))
            changes.append(up("wide/n\(i)-x/inner.yaml", "dir \(i)\n"))
            changes.append(up("wide/n\(i).y", "dot \(i)\n"))
        }
        for name in ["a", "a.b"] { changes.append(up("wide/\(name)/f", "\(name)\n")) }
        for name in ["a-b", "a0", "b"] { changes.append(up("wide/\(name)", "\(name)\n")) }
        let commit = try repository.commit(parent: nil, changes)
        try repository.updateReference("refs/heads/main", to: commit, expected: nil, message: "test")

        let listing = try git("--git-dir", path, "ls-tree", "main:wide").split(separator: "\n")
        #expect(listing.count == 2_105)
        for line in listing {
            let fields = line.split(separator: "\t", maxSplits: 1)
            let meta = fields[0].split(separator: " ")
            let name = String(fields[1])
            if meta[1] == "tree" {
                #expect(try repository.treeID(commit: commit, path: "wide/\(name)")?.hex == String(meta[2]), "\(name)")
                #expect(try repository.blob(commit: commit, path: "wide/\(name)") == nil, "\(name) is a directory")
            } else {
                let content = try git("--git-dir", path, "cat-file", "blob", String(meta[2]))
                #expect(try repository.blob(commit: commit, path: "wide/\(name)") == Data(content.utf8), "\(name)")
                #expect(try repository.treeID(commit: commit, path: "wide/\(name)") == nil, "\(name) is a file")
            }
        }
        #expect(try repository.blob(commit: commit, path: "wide/n5-x/inner.yaml") == Data("dir 5\n".utf8))
        for missing in ["n700", "n5-", "n5-y", "a-", "c", "0", "n", "n69.y0"] {
            #expect(try repository.blob(commit: commit, path: "wide/\(missing)") == nil, "\(missing)")
            #expect(try repository.treeID(commit: commit, path: "wide/\(missing)") == nil, "\(missing)")
        }
    }

    static let emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

    /// The same changes on a real folder: a write replaces whatever is at the path or in the way.
    static func apply(_ changes: [TreeChange], to work: String) throws {
        let fm = FileManager.default
        for change in changes {
            switch change {
            case .delete(let path):
                try? fm.removeItem(atPath: "\(work)/\(path)")
            case .upsert(let path, let content):
                let parts = path.split(separator: "/").map(String.init)
                var folder = work
                for part in parts.dropLast() {
                    folder += "/\(part)"
                    var isDirectory: ObjCBool = false
                    if fm.fileExists(atPath: folder, isDirectory: &isDirectory), !isDirectory.boolValue {
                        try fm.removeItem(atPath: folder)
                    }
                    try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
                }
                let file = "\(work)/\(path)"
                var isDirectory: ObjCBool = false
                if fm.fileExists(atPath: file, isDirectory: &isDirectory), isDirectory.boolValue {
                    try fm.removeItem(atPath: file)
                }
                try content.write(to: URL(fileURLWithPath: file))
            }
        }
    }
}

/// A small deterministic generator, so that a failing seed can be replayed.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
