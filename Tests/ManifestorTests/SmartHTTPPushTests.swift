import Foundation
@testable import GitStore
@testable import GitWire
import Testing

/// Which pack a test push sends: the product's (`pushBranch`), or the `git_packbuilder` oracle's.
enum PushPath: Sendable { case automatic, packbuilder }

extension Repository {
    /// `pushBranch`, or the same compare-and-swap over smart HTTP carrying the oracle's pack.
    func pushBranch(_ remote: RemoteOptions, branch: String, commit: ObjectID, expected: ObjectID, path: PushPath) throws {
        switch path {
        case .automatic:
            try pushBranch(remote, branch: branch, commit: commit, expected: expected)
        case .packbuilder:
            let pack = try #require(try packNewObjects(tip: commit, base: expected))
            let client = try #require(SmartHTTPClient(remote: remote))
            #expect(try client.push(branch: branch, commit: commit, expected: expected, pack: pack.data))
        }
    }
}

/// The smart-HTTP push (`Repository.pushBranch` on an http:// remote): a compare-and-swap spoken
/// in git's receive-pack protocol with a thin pack of exactly the new objects, against the real
/// lighttpd + git http-backend server.
@Suite("Smart-HTTP push against a real server", .serialized)
struct SmartHTTPPushTests {
    let server: GitServer
    let name = "smart-push"
    let url: String
    let scratch: URL

    init() throws {
        server = try GitServer.start()
        url = try server.createRepo(name)
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("smart-push-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        // A preview/ big enough for its tree to go as a delta (>= 512 bytes).
        var files: [String: String?] = ["README.md": "seed\n"]
        for i in 0..<40 { files["preview/task-seed-\(i)/namespace.yaml"] = "kind: Namespace # \(i)\n" }
        try server.commitFiles(repo: name, files: files, message: "seed")
    }

    func remote(token: String?? = .none) -> RemoteOptions {
        let secret: String? = switch token {
        case .none: server.password
        case .some(let value): value
        }
        return RemoteOptions(url: url, credentials: Credentials(username: "manifestor", token: secret), timeoutSeconds: 5)
    }

    /// A local bare cache holding the remote's main as refs/remotes/origin/main.
    func cache() throws -> (Repository, ObjectID) {
        let repo = try Repository.openOrCreateBare(at: scratch.appendingPathComponent("cache-\(UUID().uuidString.prefix(6))").path)
        try repo.fetch(remote(), refspecs: ["+refs/heads/main:refs/remotes/origin/main"])
        return (repo, try #require(try repo.lookupReference("refs/remotes/origin/main")))
    }

    func commit(_ repo: Repository, on parent: ObjectID, _ changes: [TreeChange], _ message: String) throws -> ObjectID {
        let signature = Signature(name: "Manifestor", email: "manifestor@aiworker.dev", date: Date())
        return try #require(try repo.makeCommit(parent: parent, changes: changes, author: signature, committer: signature, message: message))
    }

    func bareGit(_ args: [String]) throws -> String {
        try server.git(["--git-dir", server.bareRepoPath(name).path] + args)
    }

    @Test("a line of commits lands as one POST; the remote is complete and fsck-clean", arguments: [PushPath.automatic, .packbuilder])
    func lineOfCommits(path: PushPath) throws {
        let (repo, base) = try cache()
        let pushesBefore = try server.pushCount(repo: name)
        let big = String(repeating: "0123456789abcdef", count: 5_000)  // > 64 KiB: several stored blocks
        var tip = try commit(repo, on: base, [
            .upsert(path: "preview/task-a/deployment.yaml", content: Data("image: a:1\n".utf8)),
            .upsert(path: "preview/task-a/big.yaml", content: Data(big.utf8)),
            .upsert(path: "preview/task-a/empty.yaml", content: Data()),
        ], "a")
        tip = try commit(repo, on: tip, [.upsert(path: "preview/task-a/deployment.yaml", content: Data("image: a:2\n".utf8))], "a again")
        tip = try commit(repo, on: tip, [.delete(path: "preview/task-seed-3"), .upsert(path: "README.md", content: Data("seeded\n".utf8))], "b")
        // A file becomes a directory, and back.
        tip = try commit(repo, on: tip, [.upsert(path: "preview/task-seed-5/namespace.yaml/x", content: Data("x\n".utf8))], "c")
        tip = try commit(repo, on: tip, [.upsert(path: "preview/task-seed-5/namespace.yaml", content: Data("back\n".utf8))], "d")

        try repo.pushBranch(remote(), branch: "main", commit: tip, expected: base, path: path)

        #expect(try server.revParse(repo: name) == tip.hex)
        #expect(try server.pushCount(repo: name) == pushesBefore + 1)
        let fsck = try run("git", ["--git-dir", server.bareRepoPath(name).path, "fsck", "--strict", "--no-dangling"], env: server.gitEnvironment)
        #expect(fsck.status == 0, "\(fsck.stdout)\(fsck.stderr)")
        #expect(try bareGit(["show", "main:preview/task-a/deployment.yaml"]) == "image: a:2\n")
        #expect(try bareGit(["show", "main:preview/task-a/big.yaml"]) == big)
        #expect(try bareGit(["show", "main:preview/task-seed-5/namespace.yaml"]) == "back\n")
        #expect(try !bareGit(["ls-tree", "--name-only", "main:preview"]).contains("task-seed-3\n"))
        #expect(try bareGit(["rev-list", "--count", "main"]).trimmingCharacters(in: .whitespacesAndNewlines) == "6")
    }

    @Test("a remote that moved refuses before anything is sent; after a fetch the push goes through")
    func staleTipIsRefused() throws {
        let (repo, base) = try cache()
        try server.commitFiles(repo: name, files: ["other.txt": "someone else\n"], message: "another writer")
        let pushesBefore = try server.pushCount(repo: name)
        let tip = try commit(repo, on: base, [.upsert(path: "preview/task-x/a.yaml", content: Data("x\n".utf8))], "x")
        let error = #expect(throws: GitError.self) {
            try repo.pushBranch(remote(), branch: "main", commit: tip, expected: base)
        }
        #expect(error?.kind == .refused)
        #expect(try server.pushCount(repo: name) == pushesBefore, "nothing was posted")

        try repo.fetch(remote(), refspecs: ["+refs/heads/main:refs/remotes/origin/main"])
        let moved = try #require(try repo.lookupReference("refs/remotes/origin/main"))
        let again = try commit(repo, on: moved, [.upsert(path: "preview/task-x/a.yaml", content: Data("x\n".utf8))], "x")
        try repo.pushBranch(remote(), branch: "main", commit: again, expected: moved)
        #expect(try server.revParse(repo: name) == again.hex)
        #expect(try bareGit(["show", "main:other.txt"]) == "someone else\n")
    }

    @Test("a wrong or missing token is .authentication, a stopped server .unreachable")
    func failures() throws {
        let (repo, base) = try cache()
        let tip = try commit(repo, on: base, [.upsert(path: "h.txt", content: Data("h\n".utf8))], "h")
        let wrong = #expect(throws: GitError.self) {
            try repo.pushBranch(remote(token: "not-the-password"), branch: "main", commit: tip, expected: base)
        }
        #expect(wrong?.kind == .authentication)
        #expect(wrong.map { !"\($0)".contains("not-the-password") } ?? false)
        let missing = #expect(throws: GitError.self) {
            try repo.pushBranch(remote(token: .some(nil)), branch: "main", commit: tip, expected: base)
        }
        #expect(missing?.kind == .authentication)
        server.stop()
        let down = #expect(throws: GitError.self) {
            try repo.pushBranch(remote(), branch: "main", commit: tip, expected: base)
        }
        #expect(down?.kind == .unreachable)
    }
}
