import Foundation
import Testing
@testable import GitStore
@testable import GitWire
@testable import HTTPTransport

@Suite struct ReferenceTests {
    @Test func compareAndSwapRefusesStaleExpectations() throws {
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("r.git"))
        let first = try repository.commit(parent: nil, [up("a", "1")])
        let second = try repository.commit(parent: first, [up("a", "2")])
        let third = try repository.commit(parent: second, [up("a", "3")])
        let main = "refs/heads/main"

        #expect(try repository.lookupReference(main) == nil)
        // Expected a value, but the reference does not exist.
        #expect(gitErrorKind { try repository.updateReference(main, to: first, expected: second, message: "m") } == .refused)
        try repository.updateReference(main, to: first, expected: nil, message: "create")
        #expect(try repository.lookupReference(main) == first)
        // Must not exist, but does.
        #expect(gitErrorKind { try repository.updateReference(main, to: second, expected: nil, message: "m") } == .refused)
        try repository.updateReference(main, to: second, expected: first, message: "advance")
        // Stale expected value.
        let stale = gitError { try repository.updateReference(main, to: third, expected: first, message: "m") }
        #expect(stale?.kind == .refused)
        #expect(stale?.code == -15)
        #expect(stale?.operation == "updateReference")
        #expect(try repository.lookupReference(main) == second)
        try repository.updateReference(main, to: third, expected: second, message: "advance")
        #expect(try git("--git-dir", repository.path, "rev-parse", main).hasPrefix(third.hex))

        try repository.deleteReference(main)
        #expect(try repository.lookupReference(main) == nil)
        try repository.deleteReference(main)  // missing: no-op
    }

    @Test func rejectsBadReferenceNamesAndUnknownTargets() throws {
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("r.git"))
        let first = try repository.commit(parent: nil, [up("a", "1")])
        for name in ["main", "refs/heads/a..b", "refs/heads/x.lock", "refs/heads/ space", "refs/heads/"] {
            #expect(gitErrorKind { try repository.updateReference(name, to: first, expected: nil, message: "m") } == .invalidInput,
                    "\(name)")
        }
        let unknown = try #require(ObjectID(hex: String(repeating: "1", count: 40)))
        #expect(gitErrorKind { try repository.updateReference("refs/heads/x", to: unknown, expected: nil, message: "m") } == .notFound)
    }

    @Test func aStaleRefLockFileIsReportedAsLocked() throws {
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("r.git"))
        let first = try repository.commit(parent: nil, [up("a", "1")])
        try FileManager.default.createDirectory(atPath: "\(repository.path)/refs/heads", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: "\(repository.path)/refs/heads/main.lock", contents: Data())
        #expect(gitErrorKind { try repository.updateReference("refs/heads/main", to: first, expected: nil, message: "m") } == .locked)

        // What a killed process leaves behind is cleaned up (under the CacheLock).
        try repository.updateReference("refs/manifestor/push/123-abc", to: first, expected: nil, message: "m")
        _ = FileManager.default.createFile(atPath: "\(repository.path)/packed-refs.lock", contents: Data())
        let removed = try repository.removeStaleLeftovers()
        #expect(Set(removed) == ["refs/heads/main.lock", "packed-refs.lock", "refs/manifestor/push/123-abc"])
        try repository.updateReference("refs/heads/main", to: first, expected: nil, message: "m")
        #expect(try repository.removeStaleLeftovers().isEmpty)
    }

    @Test func aCacheFolderHoldingOnlyItsLockFileIsInitialised() throws {
        let temp = try TemporaryDirectory()
        let path = temp.sub("cache")
        let lock = try CacheLock.acquire(path: "\(path)/manifestor.lock", timeoutSeconds: 1)
        defer { lock.release() }
        let repository = try Repository.openOrCreateBare(at: path)
        _ = try repository.commit(parent: nil, [up("a", "1")])
        try git("--git-dir", path, "fsck", "--strict")
    }
}

@Suite struct ValueTests {
    @Test func objectIDValidatesAndCodes() throws {
        #expect(ObjectID(hex: "abc") == nil)
        #expect(ObjectID(hex: String(repeating: "g", count: 40)) == nil)
        let id = try #require(ObjectID(hex: "0123456789ABCDEF0123456789abcdef01234567"))
        #expect(id.hex == "0123456789abcdef0123456789abcdef01234567")
        #expect(id.short == "0123456789ab")
        #expect("\(id)" == id.hex)
        let encoded = try JSONEncoder().encode([id])
        #expect(String(decoding: encoded, as: UTF8.self) == "[\"\(id.hex)\"]")
        #expect(try JSONDecoder().decode([ObjectID].self, from: encoded) == [id])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([ObjectID].self, from: Data("[\"xyz\"]".utf8)) }
    }

    @Test func credentialsNeverPrintTheToken() {
        let credentials = Credentials(username: "manifestor", token: "s3cr3t-token", sshPassphrase: "pass-phrase")
        let remote = RemoteOptions(url: "https://bob:urlpass@git.example.com/a.git", credentials: credentials)
        var dumped = ""
        dump(remote, to: &dumped)
        for text in ["\(credentials)", String(reflecting: credentials), "\(remote)", String(reflecting: remote), dumped] {
            #expect(!text.contains("s3cr3t-token"))
            #expect(!text.contains("pass-phrase"))
            #expect(!text.contains("urlpass"))
        }
        #expect("\(credentials)".contains("manifestor"))
        #expect(remote.redactedURL == "https://git.example.com/a.git")
        #expect(redactingCredentials(in: "failed for 'https://u:p@h/x' and ssh://git@h:22/y, token s3cr3t-token",
                                     secrets: ["s3cr3t-token"])
                == "failed for 'https://h/x' and ssh://h:22/y, token ***")
    }

    @Test func endpointsOfRemoteURLs() {
        #expect(RemoteEndpoint(url: "https://git.fuq.tv/admin/aiworker-gitops.git") == RemoteEndpoint(host: "git.fuq.tv", port: "443"))
        #expect(RemoteEndpoint(url: "http://user:tok@127.0.0.1:8080/x.git") == RemoteEndpoint(host: "127.0.0.1", port: "8080"))
        #expect(RemoteEndpoint(url: "ssh://git@host:2222/x.git") == RemoteEndpoint(host: "host", port: "2222"))
        #expect(RemoteEndpoint(url: "git@github.com:owner/repo.git") == RemoteEndpoint(host: "github.com", port: "22"))
        #expect(RemoteEndpoint(url: "https://[::1]:9443/x") == RemoteEndpoint(host: "::1", port: "9443"))
        #expect(RemoteEndpoint(url: "git://h/x") == RemoteEndpoint(host: "h", port: "9418"))
        #expect(RemoteEndpoint(url: "file:///tmp/x.git") == nil)
        #expect(RemoteEndpoint(url: "/tmp/x.git") == nil)
        #expect(RemoteEndpoint(url: "./relative/x.git") == nil)
    }

    @Test func gitErrorDescriptionNamesOperationAndKind() {
        let error = GitError(kind: .refused, code: -11, message: "cannot push non-fastforwardable reference",
                             operation: "push")
        #expect(error.description == "push failed (refused, code -11): cannot push non-fastforwardable reference")
        #expect(error.isTransient)
    }
}
