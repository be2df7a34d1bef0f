import Foundation
import Testing
@testable import GitStore
@testable import GitWire
@testable import HTTPTransport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `git daemon` serving one folder over git:// with push enabled: unlike file:// (where libgit2
/// writes the remote itself), the server decides and reports ref updates, hooks run.
final class GitDaemon {
    let process = Process()
    let port: Int
    let base: String

    init(base: String) throws {
        self.base = base
        port = try Self.freePort()
        // The daemon binary itself, not `git daemon` (which would fork it as a grandchild).
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = [
            "--reuseaddr", "--listen=127.0.0.1", "--port=\(port)", "--base-path=\(base)",
            "--export-all", "--enable=receive-pack", "--informative-errors", base,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if (try? RemoteEndpoint(host: "127.0.0.1", port: "\(port)").checkReachable(timeout: 1)) != nil {
                return
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        stop()
        throw CommandFailure(description: "git daemon did not start")
    }

    func url(_ name: String) -> String { "git://127.0.0.1:\(port)/\(name)" }

    deinit {
        stop()
    }

    /// SIGKILL: the test runner's threads block SIGTERM, and children inherit that mask, so
    /// `Process.terminate()` would leave the daemon running and `waitUntilExit()` waiting forever.
    private func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    static let executable: String = {
        let execPath = (try? run("/usr/bin/env", ["git", "--exec-path"]))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "/usr/lib/git-core"
        return "\(execPath)/git-daemon"
    }()

    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: executable)
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, tcpStreamType, 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw CommandFailure(description: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

@Suite(.enabled(if: GitDaemon.available, "git-daemon is not installed"), .timeLimit(.minutes(1)))
struct ServerRefusalTests {
    @Test func aRefUpdateTheServerRefusesIsRefused() throws {
        let temp = try TemporaryDirectory()
        try git("init", "--bare", "-q", temp.sub("remote.git"))
        let daemon = try GitDaemon(base: temp.path)
        let remote = RemoteOptions(url: daemon.url("remote.git"), timeoutSeconds: 5)
        let repository = try Repository.openOrCreateBare(at: temp.sub("cache.git"))
        let first = try repository.commit(parent: nil, [up("a", "1")])
        try repository.push(remote, refspecs: ["\(first.hex):refs/heads/main"])
        try repository.fetch(remote, refspecs: ["+refs/heads/main:refs/remotes/origin/main"])
        #expect(try repository.lookupReference("refs/remotes/origin/main") == first)

        // A hook that declines: git_remote_push returns 0, the status callback carries the refusal.
        let hook = temp.sub("remote.git/hooks/pre-receive")
        try "#!/bin/sh\necho 'policy says no' >&2\nexit 1\n".write(toFile: hook, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hook)
        let second = try repository.commit(parent: first, [up("a", "2")])
        let declined = gitError { try repository.push(remote, refspecs: ["\(second.hex):refs/heads/main"]) }
        #expect(declined?.kind == .refused, "\(String(describing: declined))")
        #expect(declined?.message.contains("refs/heads/main") == true)
        #expect(declined?.message.contains("declined") == true, "\(String(describing: declined))")
        try FileManager.default.removeItem(atPath: hook)

        // A ref the server cannot lock (another writer holds it): refused as well.
        _ = FileManager.default.createFile(atPath: temp.sub("remote.git/refs/heads/main.lock"), contents: Data())
        let locked = gitError { try repository.push(remote, refspecs: ["\(second.hex):refs/heads/main"]) }
        #expect(locked?.kind == .refused, "\(String(describing: locked))")
        try FileManager.default.removeItem(atPath: temp.sub("remote.git/refs/heads/main.lock"))

        try repository.push(remote, refspecs: ["\(second.hex):refs/heads/main"])
        #expect(try git("--git-dir", temp.sub("remote.git"), "rev-parse", "main").hasPrefix(second.hex))
        #expect(try repository.referenceNames(prefix: "refs/manifestor/").isEmpty)
    }
}
