import Foundation
import Testing
@testable import GitStore
@testable import GitWire

/// A cache that holds its new objects in memory writes no file per object; every instance of
/// the folder in the process reads them; packing puts them on disk, where git reads them.
@Suite struct MemoryObjectsTests {
    @Test("commits write no file; a reader's instance reads them; packing writes one pack git reads, then memory is empty")
    func heldUntilPacked() throws {
        let temp = try TemporaryDirectory()
        let path = temp.sub("r.git")
        let repository = try Repository.openOrCreateBare(at: path, objectsInMemory: true)
        let before = try FileManager.default.subpathsOfDirectory(atPath: path + "/objects").sorted()
        let first = try repository.commit(parent: nil, [up("README.md", "hello\n"), up("preview/task-a/deployment.yaml", "a: 1\n")])
        let second = try repository.commit(parent: first, [up("preview/task-b/deployment.yaml", "b: 1\n")])
        #expect(try FileManager.default.subpathsOfDirectory(atPath: path + "/objects").sorted() == before, "no file was written")
        let held = try #require(repository.memoryObjects).count
        #expect(held.objects == 12, "2 commits, 6 trees, 3 blobs and the empty tree the first commit starts from")

        // Another instance of the folder (a reader's) sees them; git, outside the process, does not.
        let reader = try Repository.openForReading(at: path)
        #expect(try reader.blob(commit: second, path: "preview/task-a/deployment.yaml") == Data("a: 1\n".utf8))
        #expect(throws: (any Error).self) { try git("--git-dir", path, "cat-file", "-e", second.hex) }

        var refMoved = false
        let report = try #require(try repository.packNewObjects(installed: {
            // The pack is in place when the caller moves its ref.
            _ = try git("--git-dir", path, "cat-file", "-e", second.hex)
            try repository.updateReference("refs/heads/main", to: second, expected: nil, message: "test")
            refMoved = true
        }))
        #expect(refMoved)
        #expect(report.objects == held.objects)
        #expect(repository.memoryObjects?.count.objects == 0)
        #expect(repository.packs().count == 1)
        _ = try git("--git-dir", path, "fsck", "--strict", "--no-dangling")
        #expect(try git("--git-dir", path, "show", "main:preview/task-b/deployment.yaml") == "b: 1\n")
        // The reader opened before the pack existed finds the objects in it now.
        #expect(try reader.blob(commit: first, path: "README.md") == Data("hello\n".utf8))
        // Nothing new: no pack, and the ref hook still runs.
        var called = false
        #expect(try repository.packNewObjects(installed: { called = true }) == nil)
        #expect(called)
    }

    @Test("a reader's instance opened before the writer's shares the objects in memory once the folder was prepared")
    func readerOpenedFirst() throws {
        let temp = try TemporaryDirectory()
        let path = temp.sub("r.git")
        _ = try Repository.openOrCreateBare(at: path)
        MemoryObjects.prepare(repositoryAt: path)
        let reader = try Repository.openForReading(at: path)
        let writer = try Repository.openOrCreateBare(at: path, objectsInMemory: true)
        #expect(reader.memoryObjects === writer.memoryObjects)
        let commit = try writer.commit(parent: nil, [up("README.md", "first reader\n")])
        #expect(try reader.blob(commit: commit, path: "README.md") == Data("first reader\n".utf8))
    }

    @Test("a folder opened without objectsInMemory writes loose files as before")
    func looseWithout() throws {
        let temp = try TemporaryDirectory()
        let path = temp.sub("r.git")
        let repository = try Repository.openOrCreateBare(at: path)
        #expect(repository.memoryObjects == nil)
        let commit = try repository.commit(parent: nil, [up("README.md", "hello\n")])
        _ = try git("--git-dir", path, "cat-file", "-e", commit.hex)
    }
}
