import Foundation
import Testing
@testable import GitStore
@testable import GitWire

@Suite struct StoredLooseObjectsTests {
    /// Every object a commit writes is a loose file of stored deflate blocks (no compression),
    /// which git itself reads and verifies.
    @Test func writesUncompressedLooseObjectsThatGitReads() throws {
        let temp = try TemporaryDirectory()
        let path = temp.sub("r.git")
        let repository = try Repository.openOrCreateBare(at: path)
        // Over 64 KiB, so that the stream needs several stored blocks.
        let big = String(repeating: "kind: ConfigMap\ndata: {a: b}\n", count: 5_000)
        let first = try repository.commit(parent: nil, [
            up("README.md", "hello\n"),
            up("preview/task-a/configmap.yaml", big),
            up("empty.txt", ""),
        ])
        try repository.updateReference("refs/heads/main", to: first, expected: nil, message: "test")

        let objects = try git("--git-dir", path, "rev-list", "--objects", "main")
            .split(separator: "\n").map { String($0.prefix(40)) }
        #expect(objects.count == 7)  // commit, 3 trees, 3 blobs
        for hex in objects {
            let file = "\(path)/objects/\(hex.prefix(2))/\(hex.dropFirst(2))"
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            #expect(bytes.prefix(2) == Data([0x78, 0x01]), "zlib header of \(hex)")
            #expect(bytes[2] & 0x06 == 0, "first deflate block of \(hex) is stored")
            let attributes = try FileManager.default.attributesOfItem(atPath: file)
            #expect((attributes[.posixPermissions] as? Int) == 0o444)
        }
        _ = try git("--git-dir", path, "fsck", "--strict", "--no-dangling")
        #expect(try git("--git-dir", path, "show", "main:preview/task-a/configmap.yaml") == big)
        #expect(try git("--git-dir", path, "show", "main:empty.txt") == "")
        // libgit2 reads them back too (through a fresh instance, so nothing comes from its cache).
        let reopened = try Repository.openOrCreateBare(at: path)
        #expect(try reopened.blob(commit: first, path: "preview/task-a/configmap.yaml") == Data(big.utf8))
        // No temporary file is left behind.
        let leftovers = try FileManager.default.subpathsOfDirectory(atPath: "\(path)/objects")
            .filter { $0.contains("tmp_obj_") }
        #expect(leftovers.isEmpty)
    }

    @Test func aWriteThatCannotLandFailsWithTheReason() throws {
        let temp = try TemporaryDirectory()
        let path = temp.sub("r.git")
        let repository = try Repository.openOrCreateBare(at: path)
        // A read-only objects folder: neither backend can write.
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: "\(path)/objects")
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: "\(path)/objects") }
        if geteuid() == 0 {
            // root ignores permissions: make the fan-out folder a file instead.
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: "\(path)/objects")
            let hex = "ce013625030ba8dba906f756967f9e9ca394464a"  // blob "hello\n"
            try Data().write(to: URL(fileURLWithPath: "\(path)/objects/\(hex.prefix(2))"))
        }
        let error = gitError { _ = try repository.commit(parent: nil, [up("README.md", "hello\n")]) }
        #expect(error != nil)
        #expect(error?.message.isEmpty == false)
    }
}
