import Foundation
import Testing
@testable import GitStore
@testable import GitWire

@Suite struct CommitTests {
    @Test func createsABareRepositoryAndReopensIt() throws {
        let temp = try TemporaryDirectory()
        let path = temp.sub("cache/nested/repo.git")
        let repository = try Repository.openOrCreateBare(at: path)
        #expect(repository.path == path)
        #expect(try git("--git-dir", path, "rev-parse", "--is-bare-repository").trimmingCharacters(in: .whitespacesAndNewlines) == "true")
        #expect(try git("--git-dir", path, "symbolic-ref", "HEAD").contains("refs/heads/main"))
        let first = try repository.commit(parent: nil, [up("README.md", "hello\n")])
        try repository.updateReference("refs/heads/main", to: first, expected: nil, message: "init")
        let reopened = try Repository.openOrCreateBare(at: path)
        #expect(try reopened.lookupReference("refs/heads/main") == first)
        #expect(libgit2Version().hasPrefix("1."))
    }

    @Test func refusesAFolderThatIsNotARepository() throws {
        let temp = try TemporaryDirectory()
        let path = temp.sub("junk")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: "\(path)/file"))
        #expect(gitErrorKind { _ = try Repository.openOrCreateBare(at: path) } == .notFound)
    }

    @Test func writesNestedPathsAndReadsThemBack() throws {
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("r.git"))
        let first = try repository.commit(parent: nil, [
            up("README.md", "generated\n"),
            up("preview/task-a/deployment-backend.yaml", "kind: Deployment\n"),
            up("preview/task-a/namespace-preview-task-a.yaml", "kind: Namespace\n"),
            up("staging/service-backend.yaml", "kind: Service\n"),
        ], message: "preview(task-a): deploy backend\n\nTask-Id: a\n")

        #expect(try repository.blob(commit: first, path: "preview/task-a/deployment-backend.yaml") == Data("kind: Deployment\n"))
        #expect(try repository.blob(commit: first, path: "preview/task-b/x.yaml") == nil)
        #expect(try repository.blob(commit: first, path: "preview") == nil)
        let root = try repository.entries(commit: first, path: "")
        #expect(root.map(\.name) == ["README.md", "preview", "staging"])
        #expect(root.map(\.isTree) == [false, true, true])
        #expect(try repository.entries(commit: first, path: "preview/").map(\.name) == ["task-a"])
        #expect(try repository.entries(commit: first, path: "nothing") == [])
        #expect(try repository.entries(commit: first, path: "README.md") == [])
        #expect(try repository.files(commit: first, under: "preview") == [
            "task-a/deployment-backend.yaml": Data("kind: Deployment\n"),
            "task-a/namespace-preview-task-a.yaml": Data("kind: Namespace\n"),
        ])
        #expect(try repository.files(commit: first, under: "").count == 4)
        #expect(try repository.files(commit: first, under: "missing") == [:])
        let info = try repository.commit(first)
        #expect(info.parents == [])
        #expect(try repository.treeID(commit: first, path: "") == info.tree)
        #expect(try repository.treeID(commit: first, path: "missing") == nil)
        #expect(try repository.treeID(commit: first, path: "README.md") == nil)
        let previewTree = try #require(try repository.treeID(commit: first, path: "preview"))
        #expect(root.first { $0.name == "preview" }?.id == previewTree)
        #expect(info.message == "preview(task-a): deploy backend\n\nTask-Id: a\n")
        #expect(info.subject == "preview(task-a): deploy backend")
        #expect(info.author == testAuthor)

        let listing = try git("--git-dir", repository.path, "ls-tree", "-r", "--name-only", first.hex)
        #expect(listing.split(separator: "\n") == [
            "README.md", "preview/task-a/deployment-backend.yaml", "preview/task-a/namespace-preview-task-a.yaml",
            "staging/service-backend.yaml",
        ])
        try git("--git-dir", repository.path, "fsck", "--strict", first.hex)
    }

    @Test func deletesFilesAndWholeDirectories() throws {
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("r.git"))
        let first = try repository.commit(parent: nil, [
            up("README.md", "r\n"),
            up("preview/task-a/a.yaml", "a\n"), up("preview/task-a/b.yaml", "b\n"),
            up("preview/task-b/a.yaml", "a\n"),
        ])
        let second = try repository.commit(parent: first, [.delete(path: "preview/task-a")])
        #expect(try repository.entries(commit: second, path: "preview").map(\.name) == ["task-b"])
        #expect(try repository.commit(second).parents == [first])

        // Deleting the last entry of a directory removes the directory too (no empty trees).
        let third = try repository.commit(parent: second, [.delete(path: "preview/task-b/a.yaml")])
        #expect(try repository.entries(commit: third, path: "").map(\.name) == ["README.md"])
        try git("--git-dir", repository.path, "fsck", "--strict")
    }

    @Test func returnsNilWhenNothingChanges() throws {
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("r.git"))
        let first = try repository.commit(parent: nil, [up("a/b.yaml", "same\n")])
        let again = try repository.makeCommit(
            parent: first, changes: [up("a/b.yaml", "same\n"), .delete(path: "missing/dir"), .delete(path: "nope")],
            author: testAuthor, committer: testAuthor, message: "noop")
        #expect(again == nil)
        #expect(try repository.makeCommit(parent: first, changes: [], author: testAuthor, committer: testAuthor,
                                          message: "noop") == nil)
        #expect(try repository.makeCommit(parent: nil, changes: [], author: testAuthor, committer: testAuthor,
                                          message: "noop") == nil)
    }

    @Test func appliesChangesInOrder() throws {
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("r.git"))
        let base = try repository.commit(parent: nil, [
            up("preview/task-a/old.yaml", "old\n"), up("preview/task-a/keep.yaml", "keep\n"),
            up("staging", "a file where a directory will go\n"), up("production/x.yaml", "x\n"),
        ])
        // Re-render a directory: delete it, then write what the render produced.
        let rerender = try repository.commit(parent: base, [
            .delete(path: "preview/task-a"), up("preview/task-a/new.yaml", "new\n"),
            up("preview/task-a/keep.yaml", "keep\n"),
        ])
        #expect(try repository.files(commit: rerender, under: "preview/task-a") == [
            "new.yaml": Data("new\n"), "keep.yaml": Data("keep\n"),
        ])

        // A file in the way of a directory, and a directory in the way of a file, are replaced.
        let replaced = try repository.commit(parent: base, [
            up("staging/deployment.yaml", "d\n"), up("production", "now a file\n"),
        ])
        #expect(try repository.files(commit: replaced, under: "staging") == ["deployment.yaml": Data("d\n")])
        #expect(try repository.blob(commit: replaced, path: "production") == Data("now a file\n"))

        // Later changes win: upsert then delete, duplicate upserts, file then directory.
        let later = try repository.commit(parent: base, [
            up("new/a.yaml", "1\n"), .delete(path: "new"),
            up("dup.yaml", "first\n"), up("dup.yaml", "second\n"),
            up("flip", "file\n"), up("flip/inner.yaml", "inner\n"),
            up("preview/task-a/old.yaml", "changed\n"), up("preview/task-a", "file over dir\n"),
        ])
        let files = try repository.files(commit: later, under: "")
        #expect(files["new/a.yaml"] == nil)
        #expect(files["dup.yaml"] == Data("second\n"))
        #expect(files["flip/inner.yaml"] == Data("inner\n"))
        #expect(files["flip"] == nil)
        #expect(files["preview/task-a"] == Data("file over dir\n"))
        #expect(files["preview/task-a/keep.yaml"] == nil)
        try git("--git-dir", repository.path, "fsck", "--strict")
    }

    @Test(arguments: [
        "", "/abs.yaml", "a//b.yaml", "a/./b.yaml", "a/../b.yaml", "..", ".", "a/", "a/.git/config", ".GIT",
        "nul\0byte",
    ])
    func rejectsInvalidPaths(path: String) throws {
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("r.git"))
        let base = try repository.commit(parent: nil, [up("ok.yaml", "ok\n")])
        for change in [TreeChange.upsert(path: path, content: Data("x")), .delete(path: path)] {
            let error = gitError {
                _ = try repository.makeCommit(parent: base, changes: [up("fine.yaml", "f"), change],
                                              author: testAuthor, committer: testAuthor, message: "bad")
            }
            #expect(error?.kind == .invalidInput, "path \(path.debugDescription)")
            #expect(error?.operation == "makeCommit")
        }
    }

    @Test func rejectsInvalidSignatures() throws {
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("r.git"))
        for author in [
            Signature(name: "", email: "a@b", date: Date()), Signature(name: "A <x>", email: "a@b", date: Date()),
            Signature(name: "A", email: "a@b\n", date: Date()),
        ] {
            #expect(gitErrorKind {
                _ = try repository.makeCommit(parent: nil, changes: [up("a", "a")], author: author,
                                              committer: testAuthor, message: "m")
            } == .invalidInput)
        }
    }

    @Test func logFollowsFirstParentsNewestFirst() throws {
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("r.git"))
        var ids: [ObjectID] = []
        var parent: ObjectID?
        for index in 0..<5 {
            let id = try repository.commit(parent: parent, [up("n.txt", "\(index)\n")], message: "commit \(index)")
            ids.append(id)
            parent = id
        }
        let log = try repository.log(from: ids[4], limit: 3)
        #expect(log.map(\.id) == [ids[4], ids[3], ids[2]])
        #expect(log.map(\.subject) == ["commit 4", "commit 3", "commit 2"])
        #expect(try repository.log(from: ids[4], limit: 100).count == 5)
        #expect(try repository.log(from: ids[4], limit: 0).isEmpty)
        #expect(try repository.isDescendant(ids[4], of: ids[0]))
        #expect(try repository.isDescendant(ids[2], of: ids[2]))
        #expect(try !repository.isDescendant(ids[0], of: ids[4]))
        let side = try repository.commit(parent: ids[1], [up("side", "s\n")])
        #expect(try !repository.isDescendant(side, of: ids[2]))
        #expect(try repository.isDescendant(side, of: ids[1]))
        let missing = try #require(ObjectID(hex: String(repeating: "ab", count: 20)))
        #expect(gitErrorKind { _ = try repository.commit(missing) } == .notFound)
    }

    @Test func differentRepositoriesWorkOnDifferentThreads() throws {
        let temp = try TemporaryDirectory()
        let paths = (0..<4).map { temp.sub("r\($0).git") }
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: paths.count) { index in
            do {
                let repository = try Repository.openOrCreateBare(at: paths[index])
                var parent: ObjectID?
                for step in 0..<20 {
                    parent = try repository.commit(parent: parent, [up("t\(index)/f\(step).yaml", "\(step)\n")])
                }
                try repository.updateReference("refs/heads/main", to: parent!, expected: nil, message: "m")
            } catch {
                failures.add("\(error)")
            }
        }
        #expect(failures.all.isEmpty)
        for path in paths {
            #expect(try git("--git-dir", path, "rev-list", "--count", "main").trimmingCharacters(in: .whitespacesAndNewlines) == "20")
        }
    }
}

final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ item: String) { lock.lock(); items.append(item); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}
