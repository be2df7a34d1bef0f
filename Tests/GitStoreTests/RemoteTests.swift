import Foundation
import Testing
@testable import GitStore
@testable import GitWire

@Suite struct RemoteTests {
    let main = "refs/heads/main"
    let tracking = "refs/remotes/origin/main"
    let fetchMain = ["+refs/heads/main:refs/remotes/origin/main"]

    @Test func pushesACommitIDThenRefusesAPushFromBehindUntilFetched() throws {
        let temp = try TemporaryDirectory()
        try git("init", "--bare", "-q", temp.sub("remote.git"))
        let remote = RemoteOptions(url: "file://\(temp.sub("remote.git"))")
        let alice = try Repository.openOrCreateBare(at: temp.sub("alice.git"))
        let bob = try Repository.openOrCreateBare(at: temp.sub("bob.git"))

        // Empty remote: fetch succeeds and brings nothing.
        try bob.fetch(remote, refspecs: fetchMain)
        #expect(try bob.lookupReference(tracking) == nil)

        let first = try alice.commit(parent: nil, [up("README.md", "r\n")], message: "seed")
        try alice.push(remote, refspecs: ["\(first.hex):\(main)"])
        #expect(try git("--git-dir", temp.sub("remote.git"), "rev-parse", main).hasPrefix(first.hex))
        #expect(try alice.referenceNames(prefix: "refs/manifestor/").isEmpty)

        try bob.fetch(remote, refspecs: fetchMain)
        #expect(try bob.lookupReference(tracking) == first)
        #expect(try bob.blob(commit: first, path: "README.md") == Data("r\n"))

        let aliceSecond = try alice.commit(parent: first, [up("preview/task-a/x.yaml", "a\n")], message: "alice")
        try alice.push(remote, refspecs: ["\(aliceSecond.hex):\(main)"])

        // Bob is behind: his commit on the old tip must be refused, not forced.
        let bobSecond = try bob.commit(parent: first, [up("preview/task-b/x.yaml", "b\n")], message: "bob")
        let refused = gitError { try bob.push(remote, refspecs: ["\(bobSecond.hex):\(main)"]) }
        #expect(refused?.kind == .refused, "\(String(describing: refused))")
        #expect(refused?.operation == "push")
        #expect(try bob.referenceNames(prefix: "refs/manifestor/").isEmpty)
        #expect(try git("--git-dir", temp.sub("remote.git"), "rev-parse", main).hasPrefix(aliceSecond.hex))

        // Also refused when Bob knows the new tip but did not build on it.
        try bob.fetch(remote, refspecs: fetchMain)
        #expect(try bob.lookupReference(tracking) == aliceSecond)
        #expect(gitErrorKind { try bob.push(remote, refspecs: ["\(bobSecond.hex):\(main)"]) } == .refused)

        // Re-run on the new tip: accepted.
        let bobRetry = try bob.commit(parent: aliceSecond, [up("preview/task-b/x.yaml", "b\n")], message: "bob")
        try bob.push(remote, refspecs: ["\(bobRetry.hex):\(main)"])
        #expect(try git("--git-dir", temp.sub("remote.git"), "log", "--format=%s", main)
            .split(separator: "\n") == ["bob", "alice", "seed"])
        try git("--git-dir", temp.sub("remote.git"), "fsck", "--strict")

        try alice.fetch(remote, refspecs: fetchMain)
        #expect(try alice.lookupReference(tracking) == bobRetry)
        #expect(try alice.files(commit: bobRetry, under: "preview").keys.sorted() == ["task-a/x.yaml", "task-b/x.yaml"])
    }

    @Test func pushesReferencesAndNewBranches() throws {
        let temp = try TemporaryDirectory()
        try git("init", "--bare", "-q", temp.sub("remote.git"))
        let remote = RemoteOptions(url: temp.sub("remote.git"))  // a plain path works too
        let repository = try Repository.openOrCreateBare(at: temp.sub("cache.git"))
        let first = try repository.commit(parent: nil, [up("a", "1")])
        try repository.updateReference("refs/heads/review/x", to: first, expected: nil, message: "m")
        try repository.push(remote, refspecs: ["refs/heads/review/x:refs/heads/review/x", "\(first.hex):\(main)"])
        #expect(try git("--git-dir", temp.sub("remote.git"), "for-each-ref", "--format=%(refname)")
            .split(separator: "\n") == ["refs/heads/main", "refs/heads/review/x"])
        // Pushing the same commit again is a no-op, not a refusal.
        try repository.push(remote, refspecs: ["\(first.hex):\(main)"])
    }

    @Test func rejectsForcedAndMalformedRefspecs() throws {
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("cache.git"))
        let remote = RemoteOptions(url: "file://\(temp.sub("remote.git"))")
        for spec in ["+refs/heads/main:refs/heads/main", "refs/heads/main", "refs/heads/main:"] {
            #expect(gitErrorKind { try repository.push(remote, refspecs: [spec]) } == .invalidInput, "\(spec)")
        }
    }

    @Test func fetchFromAMissingLocalRemoteFails() throws {
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("cache.git"))
        let error = gitError {
            try repository.fetch(RemoteOptions(url: "file://\(temp.sub("nothing.git"))"), refspecs: fetchMain)
        }
        #expect(error != nil)
        #expect(error?.operation == "fetch")
    }

    @Test func aClosedPortFailsQuicklyAsUnreachable() throws {
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("cache.git"))
        let first = try repository.commit(parent: nil, [up("a", "1")])
        let remote = RemoteOptions(url: "http://127.0.0.1:9/x.git",
                                   credentials: Credentials(username: "u", token: "tok-123"), timeoutSeconds: 5)
        let start = Date()
        let pushError = gitError { try repository.push(remote, refspecs: ["\(first.hex):\(main)"]) }
        let fetchError = gitError { try repository.fetch(remote, refspecs: fetchMain) }
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(pushError?.kind == .unreachable, "\(String(describing: pushError))")
        #expect(fetchError?.kind == .unreachable, "\(String(describing: fetchError))")
        #expect(pushError?.operation == "push")
        #expect(pushError.map { !$0.message.contains("tok-123") } == true)
        #expect(try repository.referenceNames(prefix: "refs/manifestor/").isEmpty)
    }

    @Test func aHostThatNeverAnswersFailsWithinTheTimeout() throws {
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("cache.git"))
        // TEST-NET-1 (RFC 5737): never routed, so the connect hangs (or fails at once without a route).
        let remote = RemoteOptions(url: "https://192.0.2.1/x.git", timeoutSeconds: 1)
        let start = Date()
        let error = gitError { try repository.fetch(remote, refspecs: fetchMain) }
        #expect(Date().timeIntervalSince(start) < 3)
        #expect(error?.kind == .unreachable, "\(String(describing: error))")
    }

    @Test func aListenerThatNeverAcceptsFailsWithinTheTimeout() throws {
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("cache.git"))
        let first = try repository.commit(parent: nil, [up("a", "1")])
        let listener = try StalledListener()
        let remote = RemoteOptions(url: "http://127.0.0.1:\(listener.port)/x.git", timeoutSeconds: 1)
        let start = Date()
        let error = gitError { try repository.push(remote, refspecs: ["\(first.hex):\(main)"]) }
        let elapsed = Date().timeIntervalSince(start)
        #expect(error?.kind == .unreachable, "\(String(describing: error))")
        #expect(error?.message.contains("timed out") == true, "\(String(describing: error))")
        #expect(elapsed > 0.9 && elapsed < 3, "took \(elapsed) s")
        #expect(try repository.referenceNames(prefix: "refs/manifestor/").isEmpty)
    }

    @Test func anUnknownHostIsUnreachable() throws {
        let temp = try TemporaryDirectory()
        let repository = try Repository.openOrCreateBare(at: temp.sub("cache.git"))
        let remote = RemoteOptions(url: "https://no-such-host.invalid/x.git", timeoutSeconds: 5)
        #expect(gitErrorKind { try repository.fetch(remote, refspecs: fetchMain) } == .unreachable)
    }
}
