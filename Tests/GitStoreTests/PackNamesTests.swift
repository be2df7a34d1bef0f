import Foundation
import Testing
@testable import GitStore
@testable import GitWire

/// Packing names each object by its path, as git does, so that the versions of one kind of file
/// are deltas of each other even when other objects of about their size lie between them.
@Suite struct PackNamesTests {
    /// Bytes that do not compress, the same for a given seed (xorshift64).
    static func noise(_ count: Int, seed: UInt64) -> Data {
        var state = seed | 1
        var bytes = [UInt8]()
        bytes.reserveCapacity(count)
        for _ in 0..<count {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            bytes.append(UInt8(truncatingIfNeeded: state >> 24))
        }
        return Data(bytes)
    }

    @Test("the new objects follow their commit, named by their path in it; older objects and commits are not named")
    func namesFollowTheNewTrees() throws {
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("r.git"))
        let first = try repository.commit(parent: nil, [up("README.md", "hello\n"), up("preview/a/deployment.yaml", "a: 1\n")])
        #expect(try repository.packNewObjects() != nil)
        let second = try repository.commit(parent: first, [up("preview/b/deployment.yaml", "b: 1\n")])
        let loose = Set(PackDirectory.looseObjects(in: repository.objectsFolder, removeTemporaries: false).ids)
        let order = repository.packOrder(Array(loose))
        let names = Dictionary(uniqueKeysWithValues: order.compactMap { entry in entry.name.map { (entry.id, $0) } })

        let root = try #require(try repository.treeID(commit: second, path: ""))
        let preview = try #require(try repository.treeID(commit: second, path: "preview"))
        let b = try #require(try repository.treeID(commit: second, path: "preview/b"))
        let blob = try #require(try repository.entries(commit: second, path: "preview/b").first?.id)
        #expect(loose == [second, root, preview, b, blob])
        #expect(order.map(\.id) == [second, root, preview, b, blob])
        #expect(names == [root: "", preview: "preview", b: "preview/b", blob: "preview/b/deployment.yaml"])
        // What the first commit wrote is packed already: nothing of it is among the names.
        #expect(try repository.treeID(commit: first, path: "preview/a").map { names[$0] } == .some(nil))
    }

    @Test("30 versions of deployment.yaml, each 12 objects of about its size apart, are packed as deltas of each other")
    func versionsOfOneFileBecomeDeltas() throws {
        let temp = try TemporaryDirectory()
        let path = temp.sub("r.git")
        let repository = try Repository.openOrCreateBare(at: path)
        // Every deployment.yaml is the same 2,000 bytes that do not compress after its own
        // header, 20 bytes longer than the one before; between two of them in size lie twelve
        // files of another kind. Ordered by size alone, two deployments are 13 places apart,
        // beyond the pack builder's window of 10.
        let shared = Self.noise(2_000, seed: 42)
        var parent: ObjectID?
        for index in 0..<30 {
            let size = 2_100 + 20 * index
            var deployment = Data("name: task-\(index)\n".utf8) + shared
            deployment += Data(repeating: UInt8(ascii: "#"), count: size - deployment.count)
            var changes = [TreeChange.upsert(path: "preview/task-\(index)/deployment.yaml", content: deployment)]
            for other in 1...12 {
                let text = Data("other \(index) \(other)\n".utf8)
                changes.append(.upsert(path: "preview/task-\(index)/other-\(other).txt",
                                       content: text + Data(repeating: UInt8(ascii: "x"), count: size + other - text.count)))
            }
            parent = try repository.commit(parent: parent, changes)
        }
        var deployments = Set<String>()
        for index in 0..<30 {
            let entries = try repository.entries(commit: try #require(parent), path: "preview/task-\(index)")
            deployments.insert(try #require(entries.first { $0.name == "deployment.yaml" }).id.description)
        }
        let ids = PackDirectory.looseObjects(in: repository.objectsFolder, removeTemporaries: false).ids
        // The same objects packed by git without names: ordered by size, the deployments miss each other.
        let unnamed = try gitPack(path, ids, into: temp.sub("unnamed"))
        let report = try #require(try repository.packNewObjects())
        let named = try deltas(of: deployments, inPack: "\(path)/objects/pack/\(report.pack).pack")
        #expect(try deltas(of: deployments, inPack: unnamed) <= 3)
        #expect(named >= 28, "\(named) of the 30 deployments are deltas")
        try git("--git-dir", path, "fsck", "--strict")
    }

    /// How many of `ids` are stored as deltas in the pack at `pack` (`git verify-pack -v`: a
    /// delta's line ends with its depth and its base).
    private func deltas(of ids: Set<String>, inPack pack: String) throws -> Int {
        try git("verify-pack", "-v", pack).split(separator: "\n").filter { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            return fields.count == 7 && ids.contains(String(fields[0]))
        }.count
    }

    /// `git pack-objects` of exactly `ids`, given without names, into the folder `folder`; the pack's path.
    private func gitPack(_ repository: String, _ ids: [ObjectID], into folder: String) throws -> String {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let input = folder + "/ids"
        FileManager.default.createFile(atPath: input, contents: Data(ids.map { "\($0)\n" }.joined().utf8))
        let hash = try run("/bin/sh", ["-c", "git --git-dir \"$0\" pack-objects -q \"$1/pack\" < \"$1/ids\"", repository, folder])
        return folder + "/pack-" + hash.trimmingCharacters(in: .whitespacesAndNewlines) + ".pack"
    }
}

extension PackNamesTests {
    @Test("commits are placed newest first along the history, whatever order they come in; every id once")
    func historyOrder() throws {
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("r.git"))
        var line: [ObjectID] = []
        for index in 0..<6 {
            // The same second for all: the order must come from the parents, not the clock.
            line.append(try repository.commit(parent: line.last, [up("preview/task-\(index)/a.yaml", "a: \(index)\n")]))
        }
        let ids = PackDirectory.looseObjects(in: repository.objectsFolder, removeTemporaries: false).ids
        let order = repository.packOrder(ids.shuffled())
        #expect(order.count == ids.count && Set(order.map(\.id)) == Set(ids))
        #expect(order.map(\.id).filter(line.contains) == line.reversed())
        #expect(order.filter { $0.name == "preview" }.count == 6)
    }
}
